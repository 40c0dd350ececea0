/**
 * The app's configuration, read and validated once before anything starts (as Azurite does):
 * `host.json` (one zod schema per honoured section) and `local.settings.json` (whose `Values`
 * become app settings, as with Core Tools: a variable already in the environment wins), plus
 * the resolution rules the Functions host applies to settings: `%name%` binding expressions and
 * a binding's `connection` (`AzureWebJobs<name>`, then `<name>`; `AzureWebJobsStorage` when
 * omitted; `UseDevelopmentStorage=true` meaning the Azurite the devhost was pointed at).
 */
import * as path from 'node:path';
import { z } from 'zod';
import { emulatorConnectionString } from './azuriteLauncher';
import { devhostErrors } from './errors';
import { fieldPath, readJsonFile } from './jsonFile';
import { fromHostJsonLevel } from './logger';
import type { LogLevel } from './hostTypes';
import { parseTimeSpanInMs } from './timeSpan';

// ---------------------------------------------------------------- host.json

const timeSpan = (minimumInMs: number) =>
  z.string().superRefine((value, ctx) => {
    const ms = parseTimeSpanInMs(value);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: `expected a duration "hh:mm:ss", got ${JSON.stringify(value)}` });
    else if (ms < minimumInMs) ctx.addIssue({ code: 'custom', message: `must be at least ${minimumInMs} ms, got ${JSON.stringify(value)}` });
  });

const caseInsensitiveEnum = <T extends string>(values: readonly [T, ...T[]]) =>
  z.preprocess((v) => (typeof v === 'string' ? v.toLowerCase() : v), z.enum(values));

/** extensions.http */
export const httpSectionSchema = z.looseObject({
  routePrefix: z.string().optional(),
});

/** extensions.queues (defaults are the Functions host's). */
export const queuesSectionSchema = z.looseObject({
  batchSize: z.int().min(1).max(32).optional(),
  newBatchThreshold: z.int().min(0).optional(),
  maxDequeueCount: z.int().min(1).optional(),
  visibilityTimeout: timeSpan(0).optional(),
  maxPollingInterval: timeSpan(100).optional(),
  messageEncoding: caseInsensitiveEnum(['base64', 'none']).optional(),
});

/** extensions.durableTask: only what the devhost honours is checked; the rest passes through. */
export const durableTaskSectionSchema = z.looseObject({
  hubName: z
    .string()
    .regex(/^(?:[A-Za-z][A-Za-z0-9]{2,44}|%[^%]+%)$/, {
      message: 'must start with a letter and hold 3 to 45 letters or digits (or name a setting as %Name%)',
    })
    .optional(),
  maxConcurrentActivityFunctions: z.int().min(1).optional(),
  maxConcurrentOrchestratorFunctions: z.int().min(1).optional(),
});

const loggingSectionSchema = z.looseObject({
  logLevel: z
    .looseObject({
      default: z
        .string()
        .refine((v) => fromHostJsonLevel(v) !== undefined, {
          message: 'expected Trace, Debug, Information, Warning, Error, Critical or None',
        })
        .optional(),
    })
    .optional(),
});

export const hostJsonSchema = z.looseObject({
  version: z.literal('2.0', { message: 'must be "2.0" (the Functions host v4 reads only host.json version 2.0)' }),
  functionTimeout: z.union([timeSpan(1000), z.literal('-1'), z.null()]).optional(),
  logging: loggingSectionSchema.optional(),
  extensions: z
    .looseObject({
      http: httpSectionSchema.optional(),
      queues: queuesSectionSchema.optional(),
      durableTask: durableTaskSectionSchema.optional(),
    })
    .optional(),
});

export interface QueuesOptions {
  batchSize: number;
  newBatchThreshold: number;
  maxDequeueCount: number;
  /** Delay before a failed message is visible again. */
  visibilityTimeoutInMs: number;
  maxPollingIntervalInMs: number;
  messageEncoding: 'base64' | 'none';
}

export interface DurableTaskOptions {
  hubName?: string;
  maxConcurrentActivityFunctions?: number;
  maxConcurrentOrchestratorFunctions?: number;
}

export interface HostConfig {
  file: string;
  /** host.json as parsed and validated (unknown sections pass through). */
  raw: Record<string, unknown>;
  /** Without slashes; '' for none. */
  routePrefix: string;
  queues: QueuesOptions;
  durableTask: DurableTaskOptions;
  /** undefined: no limit (`"-1"`). */
  functionTimeoutInMs: number | undefined;
  logLevel: LogLevel | 'none';
}

/** The devhost runs apps the way a Flex Consumption / dedicated plan does: 30 minutes by default. */
export const DEFAULT_FUNCTION_TIMEOUT_IN_MS = 30 * 60_000;

export function parseHostJson(value: unknown, file: string): HostConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw devhostErrors.invalidHostJson(file, undefined, 'expected a JSON object');
  }
  const result = hostJsonSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw devhostErrors.invalidHostJson(file, issue ? fieldPath(issue.path) || undefined : undefined, issue?.message ?? 'invalid');
  }
  const hostJson = result.data;
  const queues = hostJson.extensions?.queues ?? {};
  const batchSize = queues.batchSize ?? 16;
  const timeout = hostJson.functionTimeout;
  return {
    file,
    raw: hostJson as Record<string, unknown>,
    routePrefix: (hostJson.extensions?.http?.routePrefix ?? 'api').replace(/^\/+|\/+$/g, ''),
    queues: {
      batchSize,
      newBatchThreshold: queues.newBatchThreshold ?? Math.floor(batchSize / 2),
      maxDequeueCount: queues.maxDequeueCount ?? 5,
      visibilityTimeoutInMs: parseTimeSpanInMs(queues.visibilityTimeout ?? '00:00:00') ?? 0,
      maxPollingIntervalInMs: parseTimeSpanInMs(queues.maxPollingInterval ?? '00:01:00') ?? 60_000,
      messageEncoding: queues.messageEncoding ?? 'base64',
    },
    durableTask: {
      hubName: hostJson.extensions?.durableTask?.hubName,
      maxConcurrentActivityFunctions: hostJson.extensions?.durableTask?.maxConcurrentActivityFunctions,
      maxConcurrentOrchestratorFunctions: hostJson.extensions?.durableTask?.maxConcurrentOrchestratorFunctions,
    },
    functionTimeoutInMs:
      timeout === '-1' || timeout === null ? undefined : timeout === undefined ? DEFAULT_FUNCTION_TIMEOUT_IN_MS : parseTimeSpanInMs(timeout),
    logLevel: fromHostJsonLevel(hostJson.logging?.logLevel?.default ?? 'Information') ?? 'information',
  };
}

export function loadHostJson(appDir: string): HostConfig {
  const file = path.join(appDir, 'host.json');
  const read = readJsonFile(file);
  if (!read.ok) {
    throw devhostErrors.invalidHostJson(file, undefined, read.missing ? 'file not found: every Functions app folder has a host.json' : read.problem);
  }
  return parseHostJson(read.value, file);
}

// ---------------------------------------------------------------- local.settings.json

const settingValue = z.union([z.string(), z.number(), z.boolean()], {
  message: 'expected a string (app settings are strings)',
});

export const localSettingsSchema = z.looseObject({
  IsEncrypted: z
    .literal(false, { message: 'must be false: the devhost cannot decrypt encrypted settings (decrypt them or write them in clear)' })
    .optional(),
  Values: z.record(z.string(), settingValue).optional(),
  Host: z
    .looseObject({
      LocalHttpPort: z.int().min(0).max(65535).optional(),
      CORS: z.string().optional(),
      CORSCredentials: z.boolean().optional(),
    })
    .optional(),
  ConnectionStrings: z.record(z.string(), z.string()).optional(),
});

export interface LocalSettings {
  file: string;
  exists: boolean;
  values: Record<string, string>;
  localHttpPort?: number;
}

export function parseLocalSettings(value: unknown, file: string): LocalSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw devhostErrors.invalidLocalSettings(file, undefined, 'expected a JSON object');
  }
  const result = localSettingsSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw devhostErrors.invalidLocalSettings(file, issue ? fieldPath(issue.path) || undefined : undefined, issue?.message ?? 'invalid');
  }
  const values: Record<string, string> = {};
  for (const [key, v] of Object.entries(result.data.Values ?? {})) values[key] = String(v);
  const runtime = values.FUNCTIONS_WORKER_RUNTIME;
  if (runtime !== undefined && runtime.toLowerCase() !== 'node') {
    throw devhostErrors.invalidLocalSettings(file, 'Values.FUNCTIONS_WORKER_RUNTIME', `must be "node" (got "${runtime}"): the devhost runs Node.js apps`);
  }
  return { file, exists: true, values, localHttpPort: result.data.Host?.LocalHttpPort };
}

/** local.settings.json is optional (settings may all come from the environment). */
export function loadLocalSettings(appDir: string): LocalSettings {
  const file = path.join(appDir, 'local.settings.json');
  const read = readJsonFile(file);
  if (!read.ok) {
    if (read.missing) return { file, exists: false, values: {} };
    throw devhostErrors.invalidLocalSettings(file, undefined, read.problem);
  }
  return parseLocalSettings(read.value, file);
}

export interface MergedSettings {
  settings: Record<string, string>;
  /** Values keys that the environment already defined (Core Tools skips those, and so do we). */
  shadowed: string[];
}

/** Values of local.settings.json and the environment, the environment winning as with Core Tools. */
export function mergeSettings(values: Record<string, string>, env: NodeJS.ProcessEnv): MergedSettings {
  const settings: Record<string, string> = {};
  const shadowed: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (env[key] !== undefined) shadowed.push(key);
    else settings[key] = value;
  }
  for (const [key, value] of Object.entries(env)) if (value !== undefined) settings[key] = value;
  return { settings, shadowed };
}

/** A setting by name; app-setting names are case-insensitive in the Functions host. */
export function lookupSetting(settings: Readonly<Record<string, string>>, name: string): string | undefined {
  const exact = settings[name];
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(settings)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** Resolves `%name%` app-setting references in a binding property; reports the first missing one. */
export function resolveSettingExpressions(
  value: string,
  settings: Readonly<Record<string, string>>,
): { value: string; missing?: string } {
  let missing: string | undefined;
  const resolved = value.replace(/%([^%]+)%/g, (whole, name: string) => {
    const found = lookupSetting(settings, name);
    if (found === undefined) {
      missing ??= name;
      return whole;
    }
    return found;
  });
  return missing === undefined ? { value: resolved } : { value, missing };
}

// ---------------------------------------------------------------- connections

export const DEFAULT_CONNECTION = 'AzureWebJobsStorage';

/** The emulator at its standard ports, as `UseDevelopmentStorage=true` means outside the devhost. */
export const STANDARD_DEVELOPMENT_STORAGE = emulatorConnectionString(10000, 10001, 10002);

export type ConnectionLookup =
  | { kind: 'connectionString'; settingName: string; connectionString: string }
  | { kind: 'identity'; settingName: string }
  | { kind: 'missing'; settingName: string };

/** The setting a binding's `connection` names, looked up as the Functions host does. */
export function lookupConnection(
  settings: Readonly<Record<string, string>>,
  connection: string | undefined,
  developmentStorage: string,
): ConnectionLookup {
  const name = connection && connection.trim() !== '' ? connection.trim() : DEFAULT_CONNECTION;
  const candidates = name.toLowerCase().startsWith('azurewebjobs') ? [name] : [`AzureWebJobs${name}`, name];
  for (const candidate of candidates) {
    const value = lookupSetting(settings, candidate);
    if (value !== undefined && value.trim() !== '') {
      const connectionString = /^\s*UseDevelopmentStorage\s*=\s*true\b/i.test(value) ? developmentStorage : value;
      return { kind: 'connectionString', settingName: candidate, connectionString };
    }
  }
  const prefix = `${name}__`.toLowerCase();
  if (Object.keys(settings).some((key) => key.toLowerCase().startsWith(prefix))) return { kind: 'identity', settingName: name };
  return { kind: 'missing', settingName: name };
}

/** Values a log line must never show: account keys, SAS signatures, whole connection strings. */
export function secretsIn(settings: Readonly<Record<string, string>>): string[] {
  const secrets: string[] = [];
  for (const value of Object.values(settings)) {
    for (const m of value.matchAll(/(?:AccountKey|SharedAccessKey|SharedAccessSignature)=([^;]+)/gi)) if (m[1]) secrets.push(m[1]);
  }
  return secrets;
}
