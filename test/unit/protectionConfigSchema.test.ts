/**
 * The JSON Schema (schema/protection-config.schema.json, validated with Ajv) and the zod schema
 * (src/config/protectionConfig.ts) agree: on a corpus of valid and invalid documents, on random
 * single mutations of valid ones, and in their structure (properties, required, patterns). The
 * only documents they disagree on are those zod refuses for a cross-field or schedule-meaning
 * reason the JSON Schema cannot express (issues marked `params.semantic`). Pure.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import type { z } from 'zod';
import {
  MAX_SOURCE_LENGTH,
  PROTECTION_CONFIG_PATTERNS,
  protectionConfigParts,
  protectionConfigSchema,
} from '../../src/config/protectionConfig';
import { configDocArb, jsonSchemaValidator, loadJsonSchema } from '../support/protectionConfigs';

const validate = jsonSchemaValidator();
const SUB = '00000000-0000-0000-0000-000000000000';
const DISK_ID = `/subscriptions/${SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/sql1-data`;
const BLOB = 'https://contosovhds.blob.core.windows.net/vhds/vm1-os.vhd';
const EMULATOR_BLOB = 'http://127.0.0.1:10000/devstoreaccount1/demo-disks/demo/disk.vhd';

const isSemantic = (issue: z.core.$ZodIssue) => issue.code === 'custom' && (issue.params as { semantic?: unknown } | undefined)?.semantic === true;

/** 'valid', 'semantic' (only zod-only checks fail) or 'invalid' (a structural problem), as zod sees it. */
function zodVerdict(doc: unknown): 'valid' | 'semantic' | 'invalid' {
  const result = protectionConfigSchema.safeParse(doc);
  if (result.success) return 'valid';
  return result.error.issues.every(isSemantic) ? 'semantic' : 'invalid';
}

const policy = (over: Record<string, unknown> = {}) => ({ name: 'nightly', schedule: '0 0 2 * * *', retention: { keepLast: 7 }, ...over });
const disk = (over: Record<string, unknown> = {}) => ({ source: BLOB, policy: 'nightly', ...over });
const doc = (over: Record<string, unknown> = {}) => ({ policies: [policy()], disks: [disk()], ...over });
const withPolicy = (over: Record<string, unknown>) => doc({ policies: [policy(over)] });
const withRetention = (retention: unknown) => withPolicy({ retention });
const withDisk = (over: Record<string, unknown>) => doc({ disks: [disk(over)] });
const withSource = (source: unknown) => withDisk({ source });

const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const readmeExample = JSON.parse(/## Protection config[\s\S]*?```json\n([\s\S]*?)```/.exec(README)?.[1] ?? 'null') as unknown;

const VALID: [string, unknown][] = [
  ["the README's example", readmeExample],
  ['no policies', { policies: [] }],
  ['no disks property', { policies: [policy()] }],
  ['$schema', { $schema: './schema/protection-config.schema.json', policies: [] }],
  ['the demo', { policies: [policy({ name: 'demo', schedule: '0 */1 * * * *', retention: { keepLast: 5 } })], disks: [{ source: EMULATOR_BLOB, policy: 'demo', key: 'demo-disk' }] }],
  ['every retention rule', withRetention({ keepLast: 1, daily: 0, weekly: 0, monthly: 0, yearly: 1, instantRestoreDays: 30 })],
  ['only daily', withRetention({ daily: 1 })],
  ['a huge count', withRetention({ keepLast: Number.MAX_SAFE_INTEGER })],
  ['names and ranges in a schedule', withPolicy({ schedule: '0 30 1 * JAN-MAR,dec MON-FRI' })],
  ['a managed disk in lower case', withSource(DISK_ID.toLowerCase())],
  ['a resource group with dots and parentheses', withSource(DISK_ID.replace('rg-prod', 'rg.(prod)_1'))],
  ['an https emulator URL', withSource('https://localhost:10000/devstoreaccount1/vhds/os.vhd')],
  ['an IP host', withSource('https://10.1.2.3/acct/vhds/os.vhd')],
  ['[::1]', withSource('http://[::1]:10000/devstoreaccount1/vhds/os.vhd')],
  ['a custom domain and port', withSource('https://vhds.contoso.com:8443/vhds/os.vhd')],
  ['escapes and unicode in a blob name', withSource('https://a.blob.core.windows.net/vhds/vm%201/disk-ü.vhd')],
  ['a key', withDisk({ key: 'a' })],
  ['a 63-character key', withDisk({ key: `a${'-'.repeat(61)}b` })],
  ['a tag selector', doc({ tagSelector: { subscriptions: [SUB, SUB.replace(/0/g, 'a')], resourceGroups: ['rg-prod'] } })],
];

const INVALID: [string, unknown][] = [
  ['null', null],
  ['an array', []],
  ['a string', 'policies'],
  ['no policies', { disks: [] }],
  ['policies null', { policies: null }],
  ['disks an object', doc({ disks: {} })],
  ['an unknown property', doc({ version: 1 })],
  ['$schema a number', doc({ $schema: 1 })],
  ['a policy without a name', doc({ policies: [{ schedule: '0 0 2 * * *', retention: { keepLast: 1 } }] })],
  ['an upper-case policy name', withPolicy({ name: 'Nightly' })],
  ['a policy name starting with a digit', withPolicy({ name: '1st' })],
  ['a policy name ending with a hyphen', withPolicy({ name: 'a-' })],
  ['a 64-character policy name', withPolicy({ name: `a${'b'.repeat(63)}` })],
  ['an unknown policy property', withPolicy({ timeZone: 'UTC' })],
  ['five fields', withPolicy({ schedule: '0 2 * * *' })],
  ['seven fields', withPolicy({ schedule: '0 0 2 * * * 2030' })],
  ['a TimeSpan', withPolicy({ schedule: '00:05:00' })],
  ['?', withPolicy({ schedule: '0 0 2 ? * *' })],
  ['L', withPolicy({ schedule: '0 0 2 L * *' })],
  ['#', withPolicy({ schedule: '0 0 2 * * 5#3' })],
  ['a tab', withPolicy({ schedule: '0\t0 2 * * *' })],
  ['a leading space', withPolicy({ schedule: ' 0 0 2 * * *' })],
  ['a three-digit value', withPolicy({ schedule: '100 0 2 * * *' })],
  ['a schedule number', withPolicy({ schedule: 5 })],
  ['no retention', withPolicy({ retention: undefined })],
  ['an empty retention', withRetention({})],
  ['a retention keeping nothing', withRetention({ daily: 0, weekly: 0, instantRestoreDays: 3 })],
  ['keepLast 0', withRetention({ keepLast: 0 })],
  ['keepLast 1.5', withRetention({ keepLast: 1.5 })],
  ['keepLast "7"', withRetention({ keepLast: '7' })],
  ['keepLast beyond 2^53', withRetention({ keepLast: 2 ** 53 })],
  ['daily -1', withRetention({ keepLast: 1, daily: -1 })],
  ['instantRestoreDays 31', withRetention({ keepLast: 1, instantRestoreDays: 31 })],
  ['an unknown retention rule', withRetention({ keepLast: 1, hourly: 24 })],
  ['a disk without a source', doc({ disks: [{ policy: 'nightly' }] })],
  ['a disk without a policy', doc({ disks: [{ source: BLOB }] })],
  ['a disk string', doc({ disks: [BLOB] })],
  ['a SAS URL', withSource(`${BLOB}?sv=2024-11-04&sig=abc`)],
  ['a fragment', withSource(`${BLOB}#x`)],
  ['http to Azure', withSource(BLOB.replace('https', 'http'))],
  ['http to a LAN address', withSource('http://10.0.0.4:10000/devstoreaccount1/vhds/os.vhd')],
  ['ftp', withSource('ftp://a.blob.core.windows.net/vhds/os.vhd')],
  ['upper-case scheme', withSource(BLOB.replace('https', 'HTTPS'))],
  ['user info', withSource('https://me@a.blob.core.windows.net/vhds/os.vhd')],
  ['no blob name', withSource('https://a.blob.core.windows.net/vhds')],
  ['a trailing slash', withSource('https://a.blob.core.windows.net/vhds/os/')],
  ['an empty segment', withSource('https://a.blob.core.windows.net/vhds//os.vhd')],
  ['a dot segment', withSource('https://a.blob.core.windows.net/vhds/../os.vhd')],
  ['an escaped dot segment', withSource('https://a.blob.core.windows.net/vhds/%2e%2E/os.vhd')],
  ['a bad escape', withSource('https://a.blob.core.windows.net/vhds/o%zz.vhd')],
  ['a non-ASCII escape', withSource('https://a.blob.core.windows.net/vhds/o%C3%BC.vhd')],
  ['a backslash', withSource('https://a.blob.core.windows.net/vhds/a\\b.vhd')],
  ['a space', withSource('https://a.blob.core.windows.net/vhds/a b.vhd')],
  ['an upper-case container', withSource('https://a.blob.core.windows.net/VHDs/os.vhd')],
  ['a two-character container', withSource('https://a.blob.core.windows.net/vh/os.vhd')],
  ['a double hyphen in a container', withSource('https://a.blob.core.windows.net/vh--ds/os.vhd')],
  ['a 64-character container', withSource(`https://a.blob.core.windows.net/${'c'.repeat(64)}/os.vhd`)],
  ['an IP host without an account', withSource('https://10.1.2.3/vhds/os.vhd')],
  ['an emulator URL without an account', withSource('http://127.0.0.1:10000/vhds/os.vhd')],
  ['an upper-case emulator account', withSource('http://127.0.0.1:10000/DevStore/vhds/os.vhd')],
  ['a bad IP', withSource('https://999.1.1.1/acct/vhds/os.vhd')],
  ['a host ending in a number', withSource('https://a.b.123/vhds/os.vhd')],
  ['port 0', withSource('https://a.blob.core.windows.net:0/vhds/os.vhd')],
  ['port 65536', withSource('https://a.blob.core.windows.net:65536/vhds/os.vhd')],
  ['a too long source', withSource(`https://a.blob.core.windows.net/vhds/${'x'.repeat(MAX_SOURCE_LENGTH)}`)],
  ['a relative path', withSource('vhds/os.vhd')],
  ['a managed disk id with a bad subscription', withSource(DISK_ID.replace(SUB, 'sub1'))],
  ['a snapshot id', withSource(DISK_ID.replace('/disks/', '/snapshots/'))],
  ['a disk name ending in a dot', withSource(`${DISK_ID}.`)],
  ['a resource group ending in a dot', withSource(DISK_ID.replace('rg-prod', 'rg.'))],
  ['a trailing slash on an id', withSource(`${DISK_ID}/`)],
  ['a source number', withSource(42)],
  ['an upper-case key', withDisk({ key: 'Vm1' })],
  ['a key with a leading hyphen', withDisk({ key: '-vm1' })],
  ['a 64-character key', withDisk({ key: 'k'.repeat(64) })],
  ['an empty key', withDisk({ key: '' })],
  ['a bad policy reference', withDisk({ policy: 'Nightly' })],
  ['an unknown disk property', withDisk({ tags: {} })],
  ['a tag selector without subscriptions', doc({ tagSelector: {} })],
  ['no subscription', doc({ tagSelector: { subscriptions: [] } })],
  ['a subscription name', doc({ tagSelector: { subscriptions: ['Production'] } })],
  ['a repeated subscription', doc({ tagSelector: { subscriptions: [SUB, SUB] } })],
  ['no resource group', doc({ tagSelector: { subscriptions: [SUB], resourceGroups: [] } })],
  ['a repeated resource group', doc({ tagSelector: { subscriptions: [SUB], resourceGroups: ['a', 'a'] } })],
  ['a resource group ending in a dot', doc({ tagSelector: { subscriptions: [SUB], resourceGroups: ['rg.'] } })],
  ['a 91-character resource group', doc({ tagSelector: { subscriptions: [SUB], resourceGroups: ['r'.repeat(91)] } })],
  ['a tag name', doc({ tagSelector: { subscriptions: [SUB], tag: 'backup' } })],
];

/** Valid to the JSON Schema; refused by the checks only zod makes. */
const SEMANTIC: [string, unknown][] = [
  ['an undefined policy', withDisk({ policy: 'weekly' })],
  ['a repeated policy name', doc({ policies: [policy(), policy()] })],
  ['a repeated key', doc({ disks: [disk({ key: 'a' }), disk({ source: DISK_ID, key: 'a' })] })],
  ['a repeated source', doc({ disks: [disk(), disk({ key: 'other' })] })],
  ['one emulator blob on two ports', doc({ disks: [disk({ source: EMULATOR_BLOB }), disk({ source: EMULATOR_BLOB.replace('10000', '10010'), key: 'b' })] })],
  ['every 5 seconds', withPolicy({ schedule: '*/5 * * * * *' })],
  ['every second', withPolicy({ schedule: '* * * * * *' })],
  ['February 31', withPolicy({ schedule: '0 0 0 31 2 *' })],
  ['second 60', withPolicy({ schedule: '60 0 2 * * *' })],
  ['day of week 7', withPolicy({ schedule: '0 0 2 * * 7' })],
  ['a backwards range', withPolicy({ schedule: '0 0 2 * * 5-1' })],
  ['a step of 0', withPolicy({ schedule: '*/0 0 2 * * *' })],
  ['a month name in the minute field', withPolicy({ schedule: '0 JAN 2 * * *' })],
  ['an unknown name', withPolicy({ schedule: '0 0 2 * FOO *' })],
];

describe('the JSON Schema', () => {
  test('is a valid draft 2020-12 schema that Ajv compiles in strict mode', () => {
    expect(loadJsonSchema().$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(typeof validate).toBe('function');
  });

  test('carries exactly the patterns and limits the zod schema uses', () => {
    const at = (...keys: (string | number)[]): unknown =>
      keys.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], loadJsonSchema().$defs);
    expect(at('policyName', 'pattern')).toBe(PROTECTION_CONFIG_PATTERNS.policyName);
    expect(at('policy', 'properties', 'schedule', 'pattern')).toBe(PROTECTION_CONFIG_PATTERNS.schedule);
    expect(at('disk', 'properties', 'source', 'anyOf', 0, 'pattern')).toBe(PROTECTION_CONFIG_PATTERNS.managedDiskId);
    expect(at('disk', 'properties', 'source', 'anyOf', 1, 'pattern')).toBe(PROTECTION_CONFIG_PATTERNS.pageBlobUrl);
    expect(at('disk', 'properties', 'source', 'anyOf', 2, 'pattern')).toBe(PROTECTION_CONFIG_PATTERNS.virtualMachineId);
    expect(at('disk', 'properties', 'source', 'anyOf', 'length')).toBe(3);
    expect(at('disk', 'properties', 'source', 'maxLength')).toBe(MAX_SOURCE_LENGTH);
    expect(at('disk', 'properties', 'key', 'pattern')).toBe(PROTECTION_CONFIG_PATTERNS.diskKey);
    expect(at('tagSelector', 'properties', 'subscriptions', 'items', 'pattern')).toBe(PROTECTION_CONFIG_PATTERNS.subscriptionId);
    expect(at('tagSelector', 'properties', 'resourceGroups', 'items', 'pattern')).toBe(PROTECTION_CONFIG_PATTERNS.resourceGroup);
  });

  test('has the same objects as the zod schema: properties, required properties, nothing else allowed', () => {
    const schema = loadJsonSchema();
    const defs = schema.$defs as Record<string, { properties: object; required?: string[]; additionalProperties: unknown }>;
    const objects = { document: schema as unknown as (typeof defs)[string], policy: defs.policy, retention: defs.retention, disk: defs.disk, tagSelector: defs.tagSelector };
    for (const [name, zodObject] of Object.entries(protectionConfigParts)) {
      const json = objects[name as keyof typeof objects];
      const shape = zodObject.shape as Record<string, z.ZodType>;
      const required = Object.keys(shape).filter((key) => !shape[key]?.safeParse(undefined).success);
      expect({ name, properties: Object.keys(json?.properties ?? {}).sort(), required: [...(json?.required ?? [])].sort() }).toEqual({
        name,
        properties: Object.keys(shape).sort(),
        required: required.sort(),
      });
      expect(json?.additionalProperties).toBe(false);
    }
  });
});

describe('the JSON Schema and the zod schema agree', () => {
  test.each(VALID)('valid: %s', (_name, document) => {
    expect(validate(document)).toBe(true);
    expect(zodVerdict(document)).toBe('valid');
  });

  test.each(INVALID)('invalid: %s', (_name, document) => {
    expect(validate(document)).toBe(false);
    expect(zodVerdict(document)).toBe('invalid');
  });

  test.each(SEMANTIC)('only zod refuses (a semantic check): %s', (_name, document) => {
    expect(validate(document)).toBe(true);
    expect(zodVerdict(document)).toBe('semantic');
  });

  test('on random valid documents', () => {
    fc.assert(
      fc.property(configDocArb, (document) => {
        expect(validate(document)).toBe(true);
        expect(zodVerdict(document)).toBe('valid');
      }),
      { numRuns: 200 },
    );
  });

  test('on random single mutations of valid documents: the JSON Schema refuses exactly what zod refuses for a structural reason', () => {
    const interesting = fc.constantFrom<unknown>(
      '',
      'a',
      'A',
      'nightly',
      'disk-0',
      '0 0 2 * * *',
      '0 2 * * *',
      '*/5 * * * * *',
      '0 0 0 * * 7',
      BLOB,
      `${BLOB}?sig=x`,
      EMULATOR_BLOB,
      DISK_ID,
      SUB,
      -1,
      0,
      1,
      1.5,
      30,
      31,
      2 ** 53,
      true,
      null,
      [],
      {},
      [SUB],
      { keepLast: 1 },
    );
    const value = fc.oneof(interesting, fc.jsonValue({ maxDepth: 2 }));
    const key = fc.constantFrom('extra', 'name', 'schedule', 'retention', 'keepLast', 'daily', 'source', 'policy', 'key', 'disks', 'subscriptions', 'resourceGroups', '$schema', 'tagSelector');
    const mutation = configDocArb.chain((document) =>
      fc.record({
        document: fc.constant(document),
        path: fc.constantFrom(...pathsOf(document)),
        op: fc.oneof(
          fc.record({ kind: fc.constant('replace' as const), value }),
          fc.record({ kind: fc.constant('delete' as const) }),
          fc.record({ kind: fc.constant('add' as const), key, value }),
        ),
      }),
    );
    fc.assert(
      fc.property(mutation, ({ document, path: at, op }) => {
        const mutated = mutate(document, at, op);
        const verdict = zodVerdict(mutated);
        expect({ jsonSchema: validate(mutated), zod: verdict }).toEqual({ jsonSchema: verdict !== 'invalid', zod: verdict });
      }),
      { numRuns: 1500 },
    );
  });
});

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

type Op = { kind: 'replace'; value: unknown } | { kind: 'delete' } | { kind: 'add'; key: string; value: unknown };

/** A copy of `root` with the value at `at` replaced or deleted, or a key added to the object there. */
function mutate(root: unknown, at: Path, op: Op): unknown {
  const copy = JSON.parse(JSON.stringify(root)) as unknown;
  if (at.length === 0) {
    if (op.kind === 'replace') return op.value;
    if (op.kind === 'add' && typeof copy === 'object' && copy !== null && !Array.isArray(copy)) return { ...copy, [op.key]: op.value };
    return copy;
  }
  const parent = at.slice(0, -1).reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], copy) as Record<string | number, unknown> | unknown[];
  const last = at[at.length - 1] as string | number;
  const target = (parent as Record<string | number, unknown>)[last];
  if (op.kind === 'replace') (parent as Record<string | number, unknown>)[last] = op.value;
  else if (op.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else if (typeof target === 'object' && target !== null && !Array.isArray(target)) (target as Record<string, unknown>)[op.key] = op.value;
  return copy;
}
