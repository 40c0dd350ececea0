/**
 * deltavault's settings: the one place that reads them (from app settings, i.e. the process
 * environment), validated once, every problem reported with the setting's name and none with
 * its value (a value may be a connection string or carry a SAS token).
 *
 * | setting | meaning |
 * |---|---|
 * | `DELTAVAULT_VAULT` | the vault storage account: a connection string (`UseDevelopmentStorage=true` = the emulator) |
 * | `DELTAVAULT_VAULT__blobServiceUri`, `__queueServiceUri` (both required), `__tableServiceUri`, `__credential` (`managedidentity`), `__clientId` | or the identity-based form, as the Functions host reads it |
 * | `DELTAVAULT_VAULT_CONTAINER` | the vault container (default `deltavault`) |
 * | `DELTAVAULT_EVENTS_QUEUE` | the job-events queue in the vault account (default `deltavault-events`) |
 * | `DELTAVAULT_RESTORE_TARGETS` | where restores may write (restoreTargets.ts; unset: nowhere) |
 * | `DELTAVAULT_CONFIG` | the protection config: a file path (relative to the app folder) or a blob URL |
 * | `DELTAVAULT_ARM__endpoint`, `__credential` (`managedidentity`), `__clientId` | how managed disks and VMs are reached through Azure Resource Manager (default: https://management.azure.com with the vault connection's identity, else DefaultAzureCredential) |
 *
 * `UseDevelopmentStorage=true` means the emulator that `AzureWebJobsStorage` points at when that
 * is a full connection string to the emulator's account (the local host's test setups do this),
 * else the emulator's standard endpoints on 127.0.0.1:10000-10002.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { errors } from '../errors';
import { parseRestoreTargets, type RestoreTarget } from './restoreTargets';
import { Secret, redactSecrets, registerSecret } from './secrets';
import { checkServiceUrl, containerNameSchema, normalizeServiceUrl, queueNameSchema } from './storageNames';

export const SETTINGS = {
  vault: 'DELTAVAULT_VAULT',
  vaultContainer: 'DELTAVAULT_VAULT_CONTAINER',
  eventsQueue: 'DELTAVAULT_EVENTS_QUEUE',
  restoreTargets: 'DELTAVAULT_RESTORE_TARGETS',
  config: 'DELTAVAULT_CONFIG',
  arm: 'DELTAVAULT_ARM',
  hostStorage: 'AzureWebJobsStorage',
} as const;

export const DEFAULT_VAULT_CONTAINER = 'deltavault';
export const DEFAULT_EVENTS_QUEUE = 'deltavault-events';

/** The emulator's public development account (documented by Microsoft; not a secret, still treated as one). */
export const EMULATOR_ACCOUNT = 'devstoreaccount1';
const EMULATOR_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const STANDARD_EMULATOR_CONNECTION_STRING =
  `DefaultEndpointsProtocol=http;AccountName=${EMULATOR_ACCOUNT};AccountKey=${EMULATOR_KEY};` +
  `BlobEndpoint=http://127.0.0.1:10000/${EMULATOR_ACCOUNT};QueueEndpoint=http://127.0.0.1:10001/${EMULATOR_ACCOUNT};` +
  `TableEndpoint=http://127.0.0.1:10002/${EMULATOR_ACCOUNT};`;

interface ServiceUrls {
  /** e.g. `https://acct.blob.core.windows.net` or `http://127.0.0.1:10000/devstoreaccount1`. */
  blobServiceUrl: string;
  queueServiceUrl: string;
  tableServiceUrl?: string;
}

export interface ConnectionStringVault extends ServiceUrls {
  kind: 'connectionString';
  /** Hand it to an SDK client only (`reveal()`); it shows itself as `[secret]` everywhere else. */
  connectionString: Secret;
  /** The storage emulator's development account. */
  emulator: boolean;
}

export interface IdentityVault extends ServiceUrls {
  kind: 'identity';
  /** `managedidentity`: ManagedIdentityCredential; `default`: DefaultAzureCredential. */
  credential: 'managedidentity' | 'default';
  /** A user-assigned identity's client id. */
  clientId?: string;
}

export type VaultConnection = ConnectionStringVault | IdentityVault;

export type ConfigLocation = { kind: 'file'; path: string } | { kind: 'blob'; url: string };

/** How Azure Resource Manager is reached (managed disks, VMs, restores to managed disks). */
export interface ArmSettings {
  /** `https://management.azure.com`, or another cloud's (or a test server's) ARM endpoint. */
  endpoint: string;
  /** `managedidentity`: ManagedIdentityCredential; `default`: DefaultAzureCredential. */
  credential: 'managedidentity' | 'default';
  /** A user-assigned identity's client id. */
  clientId?: string;
}

export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com';

export interface Settings {
  vault: VaultConnection;
  arm: ArmSettings;
  vaultContainer: string;
  eventsQueue: string;
  restoreTargets: RestoreTarget[];
  /** Absent: no protection config given. */
  config?: ConfigLocation;
}

export interface SettingProblem {
  setting: string;
  problem: string;
}

export interface LoadSettingsOptions {
  /** What a relative DELTAVAULT_CONFIG path is relative to (default: the working directory, the app's folder). */
  cwd?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates every setting in `env`; throws SETTINGS_INVALID listing every problem,
 * each prefixed with its setting's name. Pure: it reads nothing but `env` (and, unless
 * `options.cwd` is given, the working directory a relative DELTAVAULT_CONFIG is resolved against).
 */
export function loadSettings(env: Env, options: LoadSettingsOptions = {}): Settings {
  const problems: SettingProblem[] = [];
  const report = (setting: string, problem: string): void => {
    problems.push({ setting, problem });
  };

  const vault = readVaultConnection(env, report);
  const vaultContainer = readNamed(env, SETTINGS.vaultContainer, DEFAULT_VAULT_CONTAINER, containerNameSchema, report);
  const eventsQueue = readNamed(env, SETTINGS.eventsQueue, DEFAULT_EVENTS_QUEUE, queueNameSchema, report);
  const restore = parseRestoreTargets(
    value(env, SETTINGS.restoreTargets),
    vault?.blobServiceUrl ?? '(the vault account)',
    vaultContainer ?? DEFAULT_VAULT_CONTAINER,
  );
  for (const problem of restore.problems) report(SETTINGS.restoreTargets, problem);
  const config = readConfigLocation(env, options.cwd ?? process.cwd(), report);
  const arm = readArm(env, vault, report);

  if (problems.length > 0 || !vault || !vaultContainer || !eventsQueue || !arm) {
    // Belt and braces: no message quotes a value, and none may contain one of the connection's values.
    throw errors.settingsInvalid(problems.map((p) => ({ setting: p.setting, problem: redactSecrets(p.problem, secretValues(env)) })));
  }
  return { vault, arm, vaultContainer, eventsQueue, restoreTargets: restore.targets, ...(config ? { config } : {}) };
}

let loaded: Settings | undefined;

/** The app's settings, read from the process environment once (the first call) and kept. */
export function appSettings(): Settings {
  if (!loaded) {
    for (const secret of secretValues(process.env)) registerSecret(secret);
    loaded = loadSettings(process.env);
  }
  return loaded;
}

// ---------------------------------------------------------------------------------------------

/** The values in `env` that must never be shown: whole connection values and the keys and SAS tokens inside them. */
export function secretValues(env: Env): string[] {
  const out: string[] = [];
  for (const [name, v] of Object.entries(env)) {
    if (!v || !(name === SETTINGS.vault || name.startsWith(`${SETTINGS.vault}__`) || name === SETTINGS.hostStorage)) continue;
    if (/^\s*UseDevelopmentStorage\s*=\s*true\s*;?\s*$/i.test(v)) continue;
    out.push(v, v.trim());
    for (const m of v.matchAll(/(?:AccountKey|SharedAccessSignature)\s*=\s*([^;]+)/gi)) out.push((m[1] as string).trim());
  }
  return out.filter((s) => s.length >= 8);
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

function readNamed(env: Env, name: string, fallback: string, schema: z.ZodString, report: (s: string, p: string) => void): string | undefined {
  const result = schema.safeParse(value(env, name) ?? fallback);
  if (result.success) return result.data;
  for (const issue of result.error.issues) report(name, issue.message);
  return undefined;
}

function readConfigLocation(env: Env, cwd: string, report: (s: string, p: string) => void): ConfigLocation | undefined {
  const v = value(env, SETTINGS.config);
  if (v === undefined) return undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    const checked = checkServiceUrl(v, 'the protection config blob; deltavault reads it with the vault connection');
    if (!checked.ok) {
      report(SETTINGS.config, checked.problem);
      return undefined;
    }
    if (checked.url.pathname.split('/').filter((s) => s !== '').length < 2) {
      report(SETTINGS.config, 'must be the URL of a blob (https://<account>.blob.core.windows.net/<container>/<blob>)');
      return undefined;
    }
    return { kind: 'blob', url: checked.url.href };
  }
  return { kind: 'file', path: path.resolve(cwd, v) };
}

// ---------------------------------------------------------------- Azure Resource Manager

/** The parts of the ARM settings, `DELTAVAULT_ARM__<part>`. */
export const ARM_PARTS = ['endpoint', 'credential', 'clientId'] as const;

/**
 * `DELTAVAULT_ARM__endpoint` (an https URL), `__credential`, `__clientId`. Without a credential
 * of its own, ARM is reached with the vault connection's identity (so one user-assigned identity
 * serves both), else with DefaultAzureCredential.
 */
function readArm(env: Env, vault: VaultConnection | undefined, report: (s: string, p: string) => void): ArmSettings | undefined {
  const prefix = `${SETTINGS.arm}__`;
  const parts: Partial<Record<(typeof ARM_PARTS)[number], string>> = {};
  let ok = true;
  for (const name of Object.keys(env).filter((n) => n.startsWith(prefix) && value(env, n) !== undefined)) {
    const part = ARM_PARTS.find((p) => p.toLowerCase() === name.slice(prefix.length).toLowerCase());
    if (!part) {
      report(name, `is not an ARM setting (expected one of ${ARM_PARTS.map((p) => `${prefix}${p}`).join(', ')})`);
      ok = false;
    } else parts[part] = value(env, name);
  }
  let endpoint = DEFAULT_ARM_ENDPOINT;
  if (parts.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(parts.endpoint);
    } catch {
      url = undefined;
    }
    if (!url || url.protocol !== 'https:' || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      report(`${prefix}endpoint`, 'must be an https:// URL without a query string, such as https://management.azure.com');
      ok = false;
    } else endpoint = url.href.replace(/\/+$/, '');
  }
  let credential: ArmSettings['credential'] = vault?.kind === 'identity' ? vault.credential : 'default';
  if (parts.credential !== undefined) {
    if (parts.credential.toLowerCase() === 'managedidentity') credential = 'managedidentity';
    else {
      report(`${prefix}credential`, `must be 'managedidentity' (or be left out)`);
      ok = false;
    }
  }
  let clientId = parts.credential !== undefined || parts.clientId !== undefined ? undefined : vault?.kind === 'identity' ? vault.clientId : undefined;
  if (parts.clientId !== undefined) {
    const result = clientIdSchema.safeParse(parts.clientId);
    if (result.success) clientId = result.data.toLowerCase();
    else {
      report(`${prefix}clientId`, result.error.issues[0]?.message ?? 'is invalid');
      ok = false;
    }
  }
  if (!ok) return undefined;
  return { endpoint, credential, ...(clientId ? { clientId } : {}) };
}

// ---------------------------------------------------------------- the vault connection

/** The parts of an identity-based vault connection, `DELTAVAULT_VAULT__<part>`. */
export const IDENTITY_PARTS = ['blobServiceUri', 'queueServiceUri', 'tableServiceUri', 'credential', 'clientId'] as const;
export type IdentityPart = (typeof IDENTITY_PARTS)[number];
/** The parts an identity-based connection cannot do without (infra/ sets them; test/unit/infra checks it). */
export const REQUIRED_IDENTITY_PARTS: readonly IdentityPart[] = ['blobServiceUri', 'queueServiceUri'];

const clientIdSchema = z.guid({ error: 'must be the client id (a GUID) of a user-assigned managed identity' });

function readVaultConnection(env: Env, report: (s: string, p: string) => void): VaultConnection | undefined {
  const connectionString = value(env, SETTINGS.vault);
  const prefix = `${SETTINGS.vault}__`;
  const identityNames = Object.keys(env).filter((name) => name.startsWith(prefix) && value(env, name) !== undefined);
  if (connectionString !== undefined && identityNames.length > 0) {
    report(
      SETTINGS.vault,
      `set either ${SETTINGS.vault} (a connection string) or ${identityNames.join(', ')} (an identity-based connection), not both`,
    );
    return undefined;
  }
  if (connectionString !== undefined) return readConnectionString(env, connectionString, report);
  if (identityNames.length > 0) return readIdentity(env, identityNames, report);
  report(
    SETTINGS.vault,
    `is not set: give the vault storage account's connection string (UseDevelopmentStorage=true for the local emulator), ` +
      `or ${prefix}blobServiceUri and ${prefix}queueServiceUri for an identity-based connection`,
  );
  return undefined;
}

function readIdentity(env: Env, names: string[], report: (s: string, p: string) => void): IdentityVault | undefined {
  const parts: Partial<Record<IdentityPart, string>> = {};
  let ok = true;
  for (const name of names) {
    const suffix = name.slice(SETTINGS.vault.length + 2);
    const part = IDENTITY_PARTS.find((p) => p.toLowerCase() === suffix.toLowerCase());
    if (!part) {
      report(name, `is not a part of an identity-based connection (expected one of ${IDENTITY_PARTS.map((p) => `${SETTINGS.vault}__${p}`).join(', ')})`);
      ok = false;
    } else if (parts[part] !== undefined) {
      report(name, `is given twice (in different letter cases)`);
      ok = false;
    } else {
      parts[part] = value(env, name);
    }
  }
  const url = (part: 'blobServiceUri' | 'queueServiceUri' | 'tableServiceUri', service: string): string | undefined => {
    const setting = `${SETTINGS.vault}__${part}`;
    const v = parts[part];
    if (v === undefined) {
      if (REQUIRED_IDENTITY_PARTS.includes(part)) {
        report(setting, `is not set: the vault account's ${service} endpoint, e.g. https://<account>.${service}.core.windows.net`);
        ok = false;
      }
      return undefined;
    }
    const checked = checkServiceUrl(v, `the vault account's ${service} endpoint`);
    if (!checked.ok) {
      report(setting, checked.problem);
      ok = false;
      return undefined;
    }
    return normalizeServiceUrl(checked.url);
  };
  const blobServiceUrl = url('blobServiceUri', 'blob');
  const queueServiceUrl = url('queueServiceUri', 'queue');
  const tableServiceUrl = url('tableServiceUri', 'table');
  let credential: IdentityVault['credential'] = 'default';
  if (parts.credential !== undefined) {
    if (parts.credential.toLowerCase() === 'managedidentity') credential = 'managedidentity';
    else {
      report(`${SETTINGS.vault}__credential`, `must be 'managedidentity' (or be left out to use DefaultAzureCredential)`);
      ok = false;
    }
  }
  let clientId: string | undefined;
  if (parts.clientId !== undefined) {
    const result = clientIdSchema.safeParse(parts.clientId);
    if (result.success) clientId = result.data.toLowerCase();
    else {
      report(`${SETTINGS.vault}__clientId`, result.error.issues[0]?.message ?? 'is invalid');
      ok = false;
    }
  }
  if (!ok || !blobServiceUrl || !queueServiceUrl) return undefined;
  return {
    kind: 'identity',
    blobServiceUrl,
    queueServiceUrl,
    ...(tableServiceUrl ? { tableServiceUrl } : {}),
    credential,
    ...(clientId ? { clientId } : {}),
  };
}

const CONNECTION_STRING_KEYS = [
  'DefaultEndpointsProtocol',
  'AccountName',
  'AccountKey',
  'EndpointSuffix',
  'BlobEndpoint',
  'QueueEndpoint',
  'TableEndpoint',
  'FileEndpoint',
  'SharedAccessSignature',
  'UseDevelopmentStorage',
  'DevelopmentStorageProxyUri',
] as const;
type ConnectionStringKey = (typeof CONNECTION_STRING_KEYS)[number];

/** The parts of a storage connection string, or what is wrong with it (never quoting it). */
export function parseConnectionString(text: string): { parts: Partial<Record<ConnectionStringKey, string>> } | { problem: string } {
  const parts: Partial<Record<ConnectionStringKey, string>> = {};
  const segments = text.split(';').map((s) => s.trim()).filter((s) => s !== '');
  for (const [i, segment] of segments.entries()) {
    const eq = segment.indexOf('=');
    // Neither the segment nor its "key" is quoted: a pasted account key looks like a key=value pair.
    if (eq <= 0) return { problem: `part ${i + 1} is not Name=value` };
    const key = CONNECTION_STRING_KEYS.find((k) => k.toLowerCase() === segment.slice(0, eq).trim().toLowerCase());
    if (!key) return { problem: `part ${i + 1} is not a storage connection string setting (${CONNECTION_STRING_KEYS.join(', ')})` };
    if (parts[key] !== undefined) return { problem: `${key} is given twice` };
    parts[key] = segment.slice(eq + 1).trim();
  }
  if (segments.length === 0) return { problem: 'is empty' };
  return { parts };
}

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function readConnectionString(env: Env, text: string, report: (s: string, p: string) => void): ConnectionStringVault | undefined {
  const name = SETTINGS.vault;
  const parsed = parseConnectionString(text);
  if ('problem' in parsed) {
    report(name, `is not a storage connection string: ${parsed.problem}`);
    return undefined;
  }
  if (parsed.parts.UseDevelopmentStorage !== undefined) {
    if (parsed.parts.UseDevelopmentStorage.toLowerCase() !== 'true' || Object.keys(parsed.parts).length > 1) {
      report(name, 'UseDevelopmentStorage must be exactly UseDevelopmentStorage=true, with nothing else');
      return undefined;
    }
    return emulatorConnection(env, report);
  }
  const problems = checkAccountConnection(parsed.parts);
  if ('problem' in problems) {
    report(name, problems.problem);
    return undefined;
  }
  return { kind: 'connectionString', connectionString: new Secret(text), ...problems.urls, emulator: parsed.parts.AccountName === EMULATOR_ACCOUNT };
}

/** UseDevelopmentStorage=true: the emulator AzureWebJobsStorage points at, or the standard one. */
function emulatorConnection(env: Env, report: (s: string, p: string) => void): ConnectionStringVault | undefined {
  const host = value(env, SETTINGS.hostStorage);
  let connectionString = STANDARD_EMULATOR_CONNECTION_STRING;
  if (host !== undefined && !/^UseDevelopmentStorage\s*=\s*true\s*;?$/i.test(host)) {
    const parsed = parseConnectionString(host);
    const checked = 'parts' in parsed ? checkAccountConnection(parsed.parts) : parsed;
    if ('problem' in checked) {
      report(SETTINGS.hostStorage, `is not a storage connection string (${SETTINGS.vault}=UseDevelopmentStorage=true reads the emulator's endpoints from it): ${checked.problem}`);
      return undefined;
    }
    if ('parts' in parsed && parsed.parts.AccountName !== EMULATOR_ACCOUNT) {
      report(
        SETTINGS.vault,
        `UseDevelopmentStorage=true means the storage emulator, but ${SETTINGS.hostStorage} names an account that is not the emulator's; ` +
          `give ${SETTINGS.vault} the vault account's own connection string`,
      );
      return undefined;
    }
    connectionString = host;
  }
  const parsed = parseConnectionString(connectionString);
  const checked = 'parts' in parsed ? checkAccountConnection(parsed.parts) : parsed;
  if ('problem' in checked) throw new Error('unreachable: the emulator connection string was checked above');
  return { kind: 'connectionString', connectionString: new Secret(connectionString), ...checked.urls, emulator: true };
}

/** An account connection string (key or SAS) and the service URLs it implies. */
function checkAccountConnection(parts: Partial<Record<ConnectionStringKey, string>>): { urls: ServiceUrls } | { problem: string } {
  if (parts.UseDevelopmentStorage !== undefined || parts.DevelopmentStorageProxyUri !== undefined) {
    return { problem: 'UseDevelopmentStorage cannot be combined with other settings' };
  }
  const account = parts.AccountName;
  if (account !== undefined && !ACCOUNT_NAME.test(account)) return { problem: 'AccountName must be 3-24 lowercase letters and digits' };
  if (parts.AccountKey !== undefined && parts.SharedAccessSignature !== undefined) {
    return { problem: 'holds both AccountKey and SharedAccessSignature; keep one' };
  }
  if (parts.AccountKey !== undefined) {
    if (account === undefined) return { problem: 'has an AccountKey but no AccountName' };
    if (parts.AccountKey === '' || !BASE64.test(parts.AccountKey)) return { problem: 'AccountKey is not a base64 account key' };
  } else if (parts.SharedAccessSignature === undefined || parts.SharedAccessSignature === '') {
    return { problem: 'needs AccountName and AccountKey, or an endpoint with a SharedAccessSignature' };
  }
  const protocol = (parts.DefaultEndpointsProtocol ?? 'https').toLowerCase();
  if (protocol !== 'https' && protocol !== 'http') return { problem: 'DefaultEndpointsProtocol must be https or http' };
  const suffix = parts.EndpointSuffix ?? 'core.windows.net';
  if (!/^[a-z0-9.-]+$/i.test(suffix)) return { problem: 'EndpointSuffix must be a DNS suffix such as core.windows.net' };
  const endpoint = (key: 'BlobEndpoint' | 'QueueEndpoint' | 'TableEndpoint', service: string): string | { problem: string } | undefined => {
    const given = parts[key];
    if (given !== undefined) {
      const checked = checkServiceUrl(given, key);
      return checked.ok ? normalizeServiceUrl(checked.url) : { problem: `${key} ${checked.problem}` };
    }
    return account === undefined ? undefined : `${protocol}://${account}.${service}.${suffix.toLowerCase()}`;
  };
  const blob = endpoint('BlobEndpoint', 'blob');
  const queue = endpoint('QueueEndpoint', 'queue');
  const table = endpoint('TableEndpoint', 'table');
  for (const e of [blob, queue, table]) if (typeof e === 'object') return e;
  if (blob === undefined) return { problem: 'names no blob endpoint (BlobEndpoint, or AccountName)' };
  if (queue === undefined) return { problem: 'names no queue endpoint for the events queue (QueueEndpoint, or AccountName)' };
  return { urls: { blobServiceUrl: blob as string, queueServiceUrl: queue as string, ...(typeof table === 'string' ? { tableServiceUrl: table } : {}) } };
}
