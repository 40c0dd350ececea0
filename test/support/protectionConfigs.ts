/** fast-check generators of valid protection config documents (src/config/protectionConfig.ts), and the JSON Schema validator. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';
import type { ProtectionConfigDocument } from '../../src/config/protectionConfig';
import type { RetentionPolicy } from '../../src/retention/retentionPolicy';

export const SCHEMA_PATH = path.join(__dirname, '..', '..', 'schema', 'protection-config.schema.json');

export function loadJsonSchema(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8')) as Record<string, unknown>;
}

/** The JSON Schema compiled by Ajv (draft 2020-12, its default strict mode, every error). */
export function jsonSchemaValidator(): (doc: unknown) => boolean {
  const ajv = new Ajv2020({ allErrors: true });
  const validate = ajv.compile(loadJsonSchema());
  return (doc) => validate(doc) === true;
}

export const policyNameArb = fc.stringMatching(/^[a-z](?:[a-z0-9-]{0,8}[a-z0-9])?$/);

/** Valid six-field schedules (none fires more often than every 10 s). */
export const scheduleArb = fc.oneof(
  fc.constantFrom(
    '0 0 2 * * *',
    '0 */15 * * * *',
    '0 30 1 * * SUN',
    '*/10 * * * * *',
    '0 0 0 1 JAN,JUL *',
    '15,45 * 8-18 * * MON-FRI',
    '0 0 */6 * * *',
    '0 0 0 29 2 *',
    '5 4 3 2 1 0',
  ),
  fc.tuple(fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 23 })).map(([s, m, h]) => `${s} ${m} ${h} * * *`),
);

export const retentionArb: fc.Arbitrary<RetentionPolicy> = fc
  .record(
    {
      keepLast: fc.integer({ min: 1, max: 1000 }),
      daily: fc.integer({ min: 0, max: 400 }),
      weekly: fc.integer({ min: 0, max: 60 }),
      monthly: fc.integer({ min: 0, max: 36 }),
      yearly: fc.integer({ min: 0, max: 10 }),
      instantRestoreDays: fc.integer({ min: 0, max: 30 }),
    },
    { requiredKeys: [] },
  )
  .filter((r) => (['keepLast', 'daily', 'weekly', 'monthly', 'yearly'] as const).some((k) => (r[k] ?? 0) > 0));

const accountArb = fc.stringMatching(/^[a-z0-9]{3,12}$/);
const containerArb = fc.stringMatching(/^[a-z0-9]{3,8}(?:-[a-z0-9]{1,6}){0,2}$/);
const blobNameArb = fc
  .array(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), { minLength: 1, maxLength: 3 })
  .map((segments) => segments.join('/'));

export const pageBlobUrlArb = fc
  .tuple(fc.constantFrom('azure', 'emulator', 'localhost'), accountArb, containerArb, blobNameArb, fc.integer({ min: 1024, max: 65535 }))
  .map(([where, account, container, blob, port]) =>
    where === 'azure'
      ? `https://${account}.blob.core.windows.net/${container}/${blob}`
      : where === 'emulator'
        ? `http://127.0.0.1:10000/${account}/${container}/${blob}`
        : `http://localhost:${port}/${account}/${container}/${blob}`,
  );

export const managedDiskIdArb = fc
  .tuple(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,9}[A-Za-z0-9_])?$/))
  .map(([sub, rg, name]) => `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Compute/disks/${name}`);

export const sourceArb = fc.oneof(pageBlobUrlArb, managedDiskIdArb);

/** Lower-cased, port-insensitive on the emulator: what the config treats as one disk (a superset is fine). */
const sameDisk = (source: string) => source.toLowerCase().replace(/^http:\/\/(?:127\.0\.0\.1|localhost):\d+/, 'emulator');

/** A valid protection config document: unique policy names, every disk under one of them, unique sources and keys. */
export const configDocArb: fc.Arbitrary<ProtectionConfigDocument> = fc
  .uniqueArray(fc.record({ name: policyNameArb, schedule: scheduleArb, retention: retentionArb }), {
    minLength: 1,
    maxLength: 4,
    selector: (p) => p.name,
  })
  .chain((policies) =>
    fc.record(
      {
        policies: fc.constant(policies),
        disks: fc
          .uniqueArray(fc.record({ source: sourceArb, policy: fc.constantFrom(...policies.map((p) => p.name)), explicitKey: fc.boolean() }), {
            maxLength: 6,
            selector: (d) => sameDisk(d.source),
          })
          .map((disks) => disks.map(({ explicitKey, ...d }, i) => (explicitKey ? { ...d, key: `disk-${i}` } : d))),
        tagSelector: fc.record(
          {
            subscriptions: fc.uniqueArray(fc.uuid(), { minLength: 1, maxLength: 3 }),
            resourceGroups: fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { minLength: 1, maxLength: 3 }),
          },
          { requiredKeys: ['subscriptions'] },
        ),
      },
      { requiredKeys: ['policies'] },
    ),
  );
