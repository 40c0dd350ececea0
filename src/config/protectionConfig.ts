/**
 * The protection config: which disks deltavault backs up, on which schedule, keeping what. A JSON
 * document (README "Protection config"; JSON Schema in schema/protection-config.schema.json):
 *
 * ```json
 * { "policies": [{ "name": "nightly", "schedule": "0 0 2 * * *", "retention": { "keepLast": 7, "daily": 14 } }],
 *   "disks": [{ "source": "https://acct.blob.core.windows.net/vhds/vm1-os.vhd", "policy": "nightly" }],
 *   "tagSelector": { "subscriptions": ["<subscription id>"] } }
 * ```
 *
 * `protectionConfigSchema` is the one zod schema for it. It accepts exactly what the JSON Schema
 * accepts, and then refuses, as "semantic" problems the JSON Schema cannot express: a disk naming a
 * policy the config does not define, two policies with one name, two disks with one key (after
 * defaulting) or one source, and a schedule whose values are out of range, that never fires or
 * that fires more often than every 10 s. `parseProtectionConfig` reports every problem at once.
 * Pure (no I/O); loadProtectionConfig.ts reads the document.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { errors } from '../errors';
import { retentionPolicySchema, type RetentionPolicy } from '../retention/retentionPolicy';
import { SCHEDULE_PATTERN, scheduleMeaningProblem, scheduleSyntaxProblem } from './schedule';
import { redactSecrets } from './secrets';

/** The tag that puts a managed disk under a policy when the tag selector covers it: `deltavault-policy=<policy name>`. */
export const POLICY_TAG = 'deltavault-policy';

// ------------------------------------------------------------------------------ patterns
// ECMA-262 (with the `u` flag), shared verbatim with the JSON Schema: a unit test checks that the
// schema file carries exactly these. Fixed words of ARM ids match in any letter case, as ARM does.

const caseless = (word: string): string =>
  [...word].map((c) => (/[a-z]/i.test(c) ? `[${c.toUpperCase()}${c.toLowerCase()}]` : c === '.' ? '\\.' : c)).join('');

const GUID = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}';
/** 1-90 letters, digits, `_`, `-`, `.`, `(`, `)`; not ending in `.` (ARM's rule, ASCII only). */
const RESOURCE_GROUP = '[-\\w.()]{0,89}[-\\w()]';
/** 1-80 letters, digits, `_`, `.`, `-`; starts with a letter or digit, ends with a letter, digit or `_`. */
const DISK_NAME = '[A-Za-z0-9](?:[\\w.-]{0,78}\\w)?';
/** 1-64 letters, digits, `_`, `.`, `-`; starts with a letter, digit or `_`, ends with a letter, digit or `_` (ARM's rule for Linux VMs, the longer). */
const VM_NAME = '\\w(?:[\\w.-]{0,62}\\w)?';
const PORT = '(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?';
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const LOCALHOST = caseless('localhost');
/** Hosts where an account is the first path segment (the emulator, IP addresses). */
const PATH_STYLE_HOST = `(?:${LOCALHOST}|${OCTET}(?:\\.${OCTET}){3}|\\[::1\\])`;
/** Hosts that may be spoken to over plain http: this machine. */
const LOOPBACK_HOST = `(?:${LOCALHOST}|127(?:\\.${OCTET}){3}|\\[::1\\])`;
/** A DNS name whose last label starts with a letter (so never an IP address), and not localhost. */
const DNS_HOST = `(?!${LOCALHOST}[:/])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)*[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?`;
const ACCOUNT = '[a-z0-9]{3,24}';
const CONTAINER = '(?=[a-z0-9-]{3,63}/)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*';
/** A blob-name segment: no `?`, `#`, `\`, whitespace or control characters, `%` only as a printable-ASCII escape, never `.` or `..`. */
const SEGMENT = '(?!(?:\\.|%2[Ee]){1,2}(?:/|$))(?:[^/?#%\\\\\\s\\u0000-\\u001f\\u007f]|%[2-7][0-9A-Fa-f])+';

export const PROTECTION_CONFIG_PATTERNS = {
  policyName: '^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$',
  diskKey: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$',
  schedule: SCHEDULE_PATTERN,
  managedDiskId:
    `^/${caseless('subscriptions')}/${GUID}/${caseless('resourceGroups')}/${RESOURCE_GROUP}` +
    `/${caseless('providers')}/${caseless('Microsoft.Compute')}/${caseless('disks')}/${DISK_NAME}$`,
  virtualMachineId:
    `^/${caseless('subscriptions')}/${GUID}/${caseless('resourceGroups')}/${RESOURCE_GROUP}` +
    `/${caseless('providers')}/${caseless('Microsoft.Compute')}/${caseless('virtualMachines')}/${VM_NAME}$`,
  pageBlobUrl:
    `^(?:https://(?:${DNS_HOST}${PORT}|${PATH_STYLE_HOST}${PORT}/${ACCOUNT})|http://${LOOPBACK_HOST}${PORT}/${ACCOUNT})` +
    `/${CONTAINER}/${SEGMENT}(?:/${SEGMENT})*$`,
  subscriptionId: `^${GUID}$`,
  resourceGroup: `^${RESOURCE_GROUP}$`,
} as const;

/** Longest `source` accepted (a blob name is at most 1,024 characters). */
export const MAX_SOURCE_LENGTH = 2048;

const RE = Object.fromEntries(Object.entries(PROTECTION_CONFIG_PATTERNS).map(([k, p]) => [k, new RegExp(p, 'u')])) as Record<
  keyof typeof PROTECTION_CONFIG_PATTERNS,
  RegExp
>;

const POLICY_NAME_RULE = '1-63 lowercase letters, digits and hyphens, starting with a letter and ending with a letter or digit';
const DISK_KEY_RULE = '1-63 lowercase letters, digits and inner hyphens (it names the disk in the vault and the API)';

// ------------------------------------------------------------------------------ the parsed config

export interface ProtectionPolicy {
  /** Unique within the config; the value of the `deltavault-policy` tag that selects it. */
  name: string;
  /** Six-field NCRONTAB, UTC unless the app sets WEBSITE_TIME_ZONE. */
  schedule: string;
  retention: RetentionPolicy;
}

export interface PageBlobDiskSource {
  kind: 'pageBlob';
  /** The URL as the config gives it (never with a query string). */
  url: string;
  /** `https://<host>[:port]`, or with `/<account>` for the emulator and IP hosts; host in lower case. */
  serviceUrl: string;
  container: string;
  /** The blob name, percent-escapes decoded. */
  blobName: string;
}

export interface ManagedDiskSource {
  kind: 'managedDisk';
  /** The resource id as the config gives it. */
  id: string;
  /** Lower case. */
  subscriptionId: string;
  resourceGroup: string;
  diskName: string;
}

/** A whole VM: its OS and data disks, found through ARM when a backup starts, snapshotted together. */
export interface VirtualMachineSource {
  kind: 'virtualMachine';
  /** The resource id as the config gives it. */
  id: string;
  /** Lower case. */
  subscriptionId: string;
  resourceGroup: string;
  vmName: string;
}

export type ProtectedDiskSource = PageBlobDiskSource | ManagedDiskSource | VirtualMachineSource;

export interface ProtectedDisk {
  /** The disk key: given, or derived from the source (`deriveDiskKey`). Unique within the config. */
  key: string;
  source: ProtectedDiskSource;
  /** The name of one of the config's policies. */
  policy: string;
}

/**
 * Managed disks found by tag: every disk in these subscriptions (and, when given, only these
 * resource groups) tagged `deltavault-policy=<policy name>` is protected by that policy, under its
 * derived key, unless `disks` lists it. Resolving it needs Azure Resource Manager.
 */
export interface TagSelector {
  subscriptions: string[];
  resourceGroups?: string[];
}

export interface ProtectionConfig {
  policies: ProtectionPolicy[];
  disks: ProtectedDisk[];
  tagSelector?: TagSelector;
}

// ------------------------------------------------------------------------------ disk sources

function isPathStyle(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(hostname);
}

/**
 * The parts of an ARM resource id that matched `managedDiskId` or `virtualMachineId`
 * (`/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/<type>/<name>`); the
 * pattern fixes the shape, so a plain split is exact. The subscription in lower case.
 */
function armIdParts(id: string): { subscriptionId: string; resourceGroup: string; name: string } {
  const parts = id.split('/');
  return { subscriptionId: (parts[2] as string).toLowerCase(), resourceGroup: parts[4] as string, name: parts[8] as string };
}

/** The source a disk entry names, or undefined when `text` is neither a managed-disk id nor a page-blob URL. */
export function parseDiskSource(text: string): ProtectedDiskSource | undefined {
  if (text.length > MAX_SOURCE_LENGTH) return undefined;
  if (RE.managedDiskId.test(text)) {
    const { subscriptionId, resourceGroup, name } = armIdParts(text);
    return { kind: 'managedDisk', id: text, subscriptionId, resourceGroup, diskName: name };
  }
  if (RE.virtualMachineId.test(text)) {
    const { subscriptionId, resourceGroup, name } = armIdParts(text);
    return { kind: 'virtualMachine', id: text, subscriptionId, resourceGroup, vmName: name };
  }
  if (RE.pageBlobUrl.test(text)) {
    // The pattern fixes the shape, so a plain split is exact (no URL normalization to disagree with).
    const schemeEnd = text.indexOf('://') + 3;
    const hostEnd = text.indexOf('/', schemeEnd);
    const host = text.slice(schemeEnd, hostEnd).toLowerCase();
    const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] as string);
    const segments = text.slice(hostEnd + 1).split('/');
    const account = isPathStyle(hostname) ? `/${segments.shift() as string}` : '';
    const container = segments.shift() as string;
    return {
      kind: 'pageBlob',
      url: text,
      serviceUrl: `${text.slice(0, schemeEnd)}${host}${account}`,
      container,
      blobName: segments.map((s) => decodeURIComponent(s)).join('/'),
    };
  }
  return undefined;
}

/** Why `text` is not a disk source, without quoting it (a pasted URL may carry a SAS token). */
function sourceProblem(text: string): string | undefined {
  if (parseDiskSource(text) !== undefined) return undefined;
  const forms =
    'a managed disk resource id (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/disks/<name>), ' +
    'a virtual machine resource id (…/providers/Microsoft.Compute/virtualMachines/<name>) or a page blob URL (https://<account>.blob.core.windows.net/<container>/<blob>)';
  if (text.length > MAX_SOURCE_LENGTH) return `is longer than ${MAX_SOURCE_LENGTH} characters`;
  if (/^[a-z][a-z0-9+.-]*:/i.test(text)) {
    if (/[?#]/.test(text)) return 'must not carry a query string or fragment: no SAS token here, deltavault reads the disk with its own identity';
    if (/^http:/i.test(text) && !/^http:\/\/(?:localhost|127\.|\[::1\])/i.test(text)) return 'must be an https:// URL (http:// only for the local emulator on a loopback address)';
    if (!/^https?:\/\//.test(text)) return `must be ${forms}`;
    if (/^https?:\/\/[^/]*@/.test(text)) return 'must not carry a user name or password';
    return 'is not a page blob URL: https://<host>/<container>/<blob> (on the emulator or an IP address http(s)://<host>:<port>/<account>/<container>/<blob>), with a valid container name (3-63 lowercase letters, digits and single hyphens) and blob name';
  }
  if (/^\/subscriptions\//i.test(text)) {
    return (
      'is not a managed disk or virtual machine resource id: /subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.Compute/disks/<disk name> ' +
      'or …/providers/Microsoft.Compute/virtualMachines/<vm name>'
    );
  }
  return `must be ${forms}`;
}

/** What makes two sources the same disk: ARM ids ignore case; the emulator is one account whatever its port. */
export function diskSourceIdentity(source: ProtectedDiskSource): string {
  if (source.kind === 'managedDisk') return `managedDisk:${source.id.toLowerCase()}`;
  if (source.kind === 'virtualMachine') return `virtualMachine:${source.id.toLowerCase()}`;
  const service = new URL(source.serviceUrl);
  const where = isPathStyle(service.hostname) && service.protocol === 'http:' ? `emulator${service.pathname}` : `${service.host}${service.pathname}`;
  return `pageBlob:${where}/${source.container}/${source.blobName}`;
}

const KEY_HASH_CHARS = 8;

/**
 * The default disk key of a source: `<container>-<blob name without extension>` (page blobs) or
 * `<resource group>-<disk name>` (managed disks), lower-cased, every run of other characters
 * made one hyphen, shortened to fit, then `-` and 8 hex digits of the SHA-256 of the source's
 * identity. Deterministic, and different for disks that share a name in other places.
 */
export function deriveDiskKey(source: ProtectedDiskSource): string {
  const readable =
    source.kind === 'managedDisk'
      ? `${source.resourceGroup}-${source.diskName}`
      : source.kind === 'virtualMachine'
        ? `${source.resourceGroup}-${source.vmName}`
        : `${source.container}-${source.blobName.replace(/\.[^./]*$/, '')}`;
  const hash = createHash('sha256').update(diskSourceIdentity(source)).digest('hex').slice(0, KEY_HASH_CHARS);
  const stem = readable
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 63 - KEY_HASH_CHARS - 1)
    .replace(/^-+|-+$/g, '');
  return stem === '' ? hash : `${stem}-${hash}`;
}

// ------------------------------------------------------------------------------ the schema

const unique = (what: string) =>
  z.superRefine<string[]>((list, ctx) => {
    const seen = new Map<string, number>();
    list.forEach((item, i) => {
      const first = seen.get(item);
      if (first === undefined) seen.set(item, i);
      else ctx.addIssue({ code: 'custom', path: [i], message: `repeats item [${first}]; list each ${what} once` });
    });
  });

const policySchema = z.strictObject({
  name: z.string().regex(RE.policyName, { error: `must be ${POLICY_NAME_RULE}` }),
  schedule: z
    .string()
    .superRefine((schedule, ctx) => {
      const problem = scheduleSyntaxProblem(schedule);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .superRefine(
      (schedule, ctx) => {
        if (scheduleSyntaxProblem(schedule) !== undefined) return;
        const problem = scheduleMeaningProblem(schedule);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { semantic: true } });
      },
      // The syntax check's issue must not keep the meaning check from running on valid syntax.
      { when: (payload) => typeof payload.value === 'string' },
    ),
  retention: retentionPolicySchema,
});

const diskSchema = z.strictObject({
  source: z.string().superRefine((source, ctx) => {
    const problem = sourceProblem(source);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  policy: z.string().regex(RE.policyName, { error: `must be the name of a policy: ${POLICY_NAME_RULE}` }),
  key: z.string().regex(RE.diskKey, { error: `must be ${DISK_KEY_RULE}` }).optional(),
});

const tagSelectorSchema = z.strictObject({
  subscriptions: z
    .array(z.string().regex(RE.subscriptionId, { error: 'must be a subscription id (a GUID)' }))
    .min(1, { error: 'must list at least one subscription id' })
    .check(unique('subscription')),
  resourceGroups: z
    .array(z.string().regex(RE.resourceGroup, { error: 'must be a resource group name (1-90 letters, digits, _, -, ., ( and ), not ending in .)' }))
    .min(1, { error: 'must list at least one resource group (leave it out for every resource group of the subscriptions)' })
    .check(unique('resource group'))
    .optional(),
});

const documentSchema = z.strictObject({
  /** For editors: the JSON Schema the document follows. */
  $schema: z.string().optional(),
  policies: z.array(policySchema),
  disks: z.array(diskSchema).optional(),
  tagSelector: tagSelectorSchema.optional(),
});

/** The protection config as written (the JSON document). */
export type ProtectionConfigDocument = z.input<typeof documentSchema>;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === 'string' && RE.policyName.test(v);

/** Cross-field checks, on whatever the structural checks let through (so every problem shows at once). */
function checkReferences(doc: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(doc)) return;
  const semantic = (path: PropertyKey[], message: string): void => {
    ctx.addIssue({ code: 'custom', path, message, params: { semantic: true } });
  };
  const policyIndex = new Map<string, number>();
  const policies = Array.isArray(doc.policies) ? doc.policies : undefined;
  policies?.forEach((p: unknown, i) => {
    const name = isRecord(p) ? p.name : undefined;
    if (!isName(name)) return;
    const first = policyIndex.get(name);
    if (first === undefined) policyIndex.set(name, i);
    else semantic(['policies', i, 'name'], `repeats the name of $.policies[${first}]; policy names must be unique`);
  });
  if (!Array.isArray(doc.disks)) return;
  const defined = [...policyIndex.keys()];
  const sources = new Map<string, number>();
  const keys = new Map<string, number>();
  doc.disks.forEach((d: unknown, i) => {
    if (!isRecord(d)) return;
    if (policies && isName(d.policy) && !policyIndex.has(d.policy)) {
      semantic(
        ['disks', i, 'policy'],
        `names policy '${d.policy}', which the config does not define (${defined.length === 0 ? 'it defines none' : `policies: ${defined.join(', ')}`})`,
      );
    }
    const source = typeof d.source === 'string' ? parseDiskSource(d.source) : undefined;
    if (source) {
      const identity = diskSourceIdentity(source);
      const first = sources.get(identity);
      if (first !== undefined) {
        semantic(['disks', i, 'source'], `is the same disk as $.disks[${first}].source; protect each disk once`);
        return;
      }
      sources.set(identity, i);
    }
    const explicit = typeof d.key === 'string' && RE.diskKey.test(d.key) ? d.key : undefined;
    const key = explicit ?? (source ? deriveDiskKey(source) : undefined);
    if (key === undefined) return;
    const first = keys.get(key);
    if (first === undefined) keys.set(key, i);
    else {
      semantic(
        explicit ? ['disks', i, 'key'] : ['disks', i],
        `${explicit ? 'is' : `has the derived key '${key}', which is`} the disk key of $.disks[${first}] too; disk keys must be unique${explicit ? '' : ' (give one of them a "key")'}`,
      );
    }
  });
}

function toConfig(doc: z.output<typeof documentSchema>): ProtectionConfig {
  const disks = (doc.disks ?? []).map((d): ProtectedDisk => {
    const source = parseDiskSource(d.source);
    if (!source) throw new Error('unreachable: the source was validated');
    return { key: d.key ?? deriveDiskKey(source), source, policy: d.policy };
  });
  const policies = doc.policies.map((p): ProtectionPolicy => ({ name: p.name, schedule: p.schedule, retention: p.retention }));
  return { policies, disks, ...(doc.tagSelector ? { tagSelector: doc.tagSelector } : {}) };
}

/** The object schemas the document is made of (tests compare them with the JSON Schema's objects). */
export const protectionConfigParts = {
  document: documentSchema,
  policy: policySchema,
  retention: retentionPolicySchema,
  disk: diskSchema,
  tagSelector: tagSelectorSchema,
} as const;

/**
 * The protection config schema: the document's structure (what the JSON Schema says), then the
 * cross-field checks (issues with `params.semantic`), then the parsed ProtectionConfig (default
 * keys derived, sources parsed).
 */
export const protectionConfigSchema = documentSchema.superRefine(checkReferences, { when: () => true }).transform(toConfig);

// ------------------------------------------------------------------------------ problems

export interface ConfigProblem {
  /** JSONPath of the offending value: `$`, `$.disks[2].policy`, `$.policies[0].retention`. */
  path: string;
  problem: string;
}

/** `$.a[0].b` (names that are not identifiers in brackets, JSON-quoted). */
export function jsonPath(path: readonly PropertyKey[]): string {
  return (
    '$' +
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(String(p)) ? `.${String(p)}` : `[${JSON.stringify(String(p))}]`))
      .join('')
  );
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** The properties an object at `path` may have (for "unknown property" problems). */
function knownProperties(path: readonly PropertyKey[]): string[] {
  const shapeKeys = (s: { shape: object }) => Object.keys(s.shape);
  const at = path.map((p) => (typeof p === 'number' ? '#' : String(p))).join('/');
  const known: Record<string, string[]> = {
    '': shapeKeys(documentSchema),
    'policies/#': shapeKeys(policySchema),
    'policies/#/retention': shapeKeys(retentionPolicySchema),
    'disks/#': shapeKeys(diskSchema),
    tagSelector: shapeKeys(tagSelectorSchema),
  };
  return known[at] ?? [];
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : article(typeof v));

const KEY_ORDER = ['$schema', 'policies', 'disks', 'tagSelector', 'name', 'schedule', 'retention', 'source', 'policy', 'key', 'subscriptions', 'resourceGroups'];

function comparePaths(a: readonly PropertyKey[], b: readonly PropertyKey[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as PropertyKey;
    const y = b[i] as PropertyKey;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x - y;
    const rank = (k: PropertyKey) => (KEY_ORDER.includes(String(k)) ? KEY_ORDER.indexOf(String(k)) : KEY_ORDER.length);
    return rank(x) - rank(y) || String(x).localeCompare(String(y));
  }
  return a.length - b.length;
}

/** Every problem zod found, one per offending value, in document order, none quoting a secret. */
export function configProblems(error: z.ZodError, input: unknown): ConfigProblem[] {
  const found: { path: PropertyKey[]; problem: string }[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownProperties(issue.path);
      for (const key of issue.keys) {
        found.push({ path: [...issue.path, key], problem: `is not a known property${known.length ? ` (known: ${known.join(', ')})` : ''}` });
      }
      continue;
    }
    let problem = issue.message;
    if (issue.code === 'invalid_type' && ['object', 'array', 'string', 'number'].includes(issue.expected)) {
      const actual = valueAt(input, issue.path);
      problem = actual === undefined ? 'is required' : `must be ${article(issue.expected)}, not ${typeName(actual)}`;
    }
    found.push({ path: issue.path, problem });
  }
  found.sort((a, b) => comparePaths(a.path, b.path));
  return found.map((f) => ({ path: jsonPath(f.path), problem: redactSecrets(f.problem) }));
}

/**
 * The protection config in `json` (already JSON.parse'd), validated. Throws one CONFIG_INVALID
 * error whose message lists every problem, one per line, as `<where>: <JSON path>: <problem>`.
 */
export function parseProtectionConfig(json: unknown, where: string): ProtectionConfig {
  const result = protectionConfigSchema.safeParse(json);
  if (result.success) return result.data;
  throw errors.configInvalid(redactSecrets(where), configProblems(result.error, json));
}

/** The document of a parsed config, every key explicit: `parseProtectionConfig(formatProtectionConfig(c))` equals `c`. */
export function formatProtectionConfig(config: ProtectionConfig): ProtectionConfigDocument {
  return {
    policies: config.policies.map((p) => ({ name: p.name, schedule: p.schedule, retention: { ...p.retention } })),
    disks: config.disks.map((d) => ({ source: d.source.kind === 'pageBlob' ? d.source.url : d.source.id, policy: d.policy, key: d.key })),
    ...(config.tagSelector
      ? {
          tagSelector: {
            subscriptions: [...config.tagSelector.subscriptions],
            ...(config.tagSelector.resourceGroups ? { resourceGroups: [...config.tagSelector.resourceGroups] } : {}),
          },
        }
      : {}),
  };
}
