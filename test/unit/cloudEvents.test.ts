/** Job events (src/events/cloudEvents.ts): CloudEvents 1.0 for every type of CONTRACT.md, ids
 *  stable across retries, one schema per type on both sides, and no secret ever inside. Pure. */
import fc from 'fast-check';
import { registerSecret } from '../../src/config/secrets';
import { errors } from '../../src/errors';
import {
  ALL_EVENT_TYPES,
  EVENT_TYPES,
  MAX_TEXT_CHARS,
  buildEvent,
  eventError,
  eventId,
  eventSource,
  parseJobEvent,
  type EventType,
} from '../../src/events/cloudEvents';
import { expectDeltavaultError } from '../support/errors';
import { pointOf, sampleData } from '../support/jobEvents';

const DISK = 'web-data';
const JOB = 'backup-web-data-20240305T070809Z';
const AT = new Date('2024-03-05T07:08:09.010Z');
const UUID_V8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('building events', () => {
  test('the contract lists eleven types, all deltavault.*', () => {
    expect([...ALL_EVENT_TYPES].sort()).toEqual(
      [
        'deltavault.backup.started',
        'deltavault.backup.skipped',
        'deltavault.snapshot.created',
        'deltavault.recoverypoint.created',
        'deltavault.backup.succeeded',
        'deltavault.backup.failed',
        'deltavault.prune.completed',
        'deltavault.restore.started',
        'deltavault.restore.succeeded',
        'deltavault.restore.failed',
        'deltavault.verify.completed',
      ].sort(),
    );
  });

  test.each(ALL_EVENT_TYPES.map((t) => [t]))('%s: a structured CloudEvent 1.0 that the consumer reads back unchanged', (type: EventType) => {
    const data = sampleData(type, DISK, JOB);
    const event = buildEvent(type, data, { time: AT, source: '/deltavault/dv-prod' });
    expect(event).toEqual({
      specversion: '1.0',
      id: eventId(DISK, JOB, type),
      source: '/deltavault/dv-prod',
      type,
      subject: DISK,
      time: '2024-03-05T07:08:09.010Z',
      datacontenttype: 'application/json',
      data,
    });
    expect(event.id).toMatch(UUID_V8);
    const text = JSON.stringify(event);
    expect(parseJobEvent(text)).toEqual(event);
    // The Functions runtime hands the consumer the parsed object, or bytes.
    expect(parseJobEvent(JSON.parse(text))).toEqual(event);
    expect(parseJobEvent(Buffer.from(text))).toEqual(event);
  });

  test('ids are stable across retries of a step (any time), and differ between steps, types, jobs and disks', () => {
    const type = EVENT_TYPES.snapshotCreated;
    const first = buildEvent(type, sampleData(type, DISK, JOB), { time: AT });
    const retry = buildEvent(type, sampleData(type, DISK, JOB), { time: new Date(AT.getTime() + 60_000) });
    expect(retry.id).toBe(first.id);
    const others = [
      buildEvent(type, sampleData(type, DISK, JOB), { step: 'attempt-2' }).id,
      buildEvent(EVENT_TYPES.backupStarted, sampleData(EVENT_TYPES.backupStarted, DISK, JOB)).id,
      buildEvent(type, sampleData(type, DISK, `${JOB}x`)).id,
      buildEvent(type, sampleData(type, 'db-data', JOB)).id,
    ];
    expect(new Set([first.id, ...others]).size).toBe(5);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,20}$/), fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,40}$/), fc.constantFrom(...ALL_EVENT_TYPES), fc.string({ maxLength: 10 }), (d, j, t, s) => {
        const id = eventId(d, j, t, s);
        expect(id).toMatch(UUID_V8);
        expect(eventId(d, j, t, s)).toBe(id);
      }),
      { numRuns: 300 },
    );
  });

  test("source: /deltavault/<the Function App's name>, else /deltavault/deltavault", () => {
    expect(eventSource({ WEBSITE_SITE_NAME: 'DeltaVault-Prod' })).toBe('/deltavault/deltavault-prod');
    expect(eventSource({})).toBe('/deltavault/deltavault');
    expect(eventSource({ WEBSITE_SITE_NAME: 'not a name/../x' })).toBe('/deltavault/deltavault');
    expect(() => buildEvent(EVENT_TYPES.backupSkipped, sampleData(EVENT_TYPES.backupSkipped, DISK, JOB), { source: 'https://x' })).toThrow(/source/);
  });

  test('data that does not fit its type is INVALID_ARGUMENT naming each field', () => {
    const err = expectDeltavaultError(
      () =>
        buildEvent(EVENT_TYPES.recoveryPointCreated, {
          ...sampleData(EVENT_TYPES.recoveryPointCreated, DISK, JOB),
          recoveryPointId: pointOf('other-disk'),
          bytesChanged: -1,
          diskKey: 'Web_Data',
        }),
      'INVALID_ARGUMENT',
    );
    expect(err.message).toMatch(/data\.diskKey: must be a disk key/);
    expect(err.message).toMatch(/data\.bytesChanged: /);
    expect(err.message).not.toContain('Web_Data');
    const verify = expectDeltavaultError(
      () => buildEvent(EVENT_TYPES.verifyCompleted, { ...sampleData(EVENT_TYPES.verifyCompleted, DISK, JOB), ok: true }),
      'INVALID_ARGUMENT',
    );
    expect(verify.message).toMatch(/data\.ok: ok must be true exactly when badBlocks is empty/);
    expect(() =>
      buildEvent(EVENT_TYPES.backupSucceeded, { ...sampleData(EVENT_TYPES.backupSucceeded, DISK, JOB), recoveryPointId: pointOf('db') }),
    ).toThrow(/data\.recoveryPointId: must be a recovery point of the event's disk/);
  });

  test('unknown data members are dropped, not carried', () => {
    const data = { ...sampleData(EVENT_TYPES.snapshotCreated, DISK, JOB), sourceUrl: 'https://a.blob.core.windows.net/c/d?sig=abc' };
    expect(buildEvent(EVENT_TYPES.snapshotCreated, data).data).toEqual(sampleData(EVENT_TYPES.snapshotCreated, DISK, JOB));
  });

  test('eventError: a DeltavaultError keeps its code; anything else is INTERNAL_ERROR', () => {
    expect(eventError(errors.notFound('recovery point', 'x'))).toEqual({ code: 'NOT_FOUND', message: "recovery point 'x' does not exist" });
    expect(eventError(new TypeError('boom'))).toEqual({ code: 'INTERNAL_ERROR', message: 'TypeError: boom' });
    expect(eventError('text')).toEqual({ code: 'INTERNAL_ERROR', message: 'text' });
  });

  test('long messages are cut to MAX_TEXT_CHARS', () => {
    const event = buildEvent(EVENT_TYPES.backupFailed, { jobId: JOB, diskKey: DISK, error: { code: 'X', message: 'a'.repeat(10_000) } });
    expect(event.data.error.message).toHaveLength(MAX_TEXT_CHARS);
  });
});

describe('no secret ever enters an event', () => {
  const secretArb = fc.uint8Array({ minLength: 24, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'));
  /** The shapes in which a secret turns up in an error message. */
  const carriers: ((s: string) => string)[] = [
    (s) => `DefaultEndpointsProtocol=https;AccountName=vaultacct;AccountKey=${s};EndpointSuffix=core.windows.net`,
    (s) => `AccountKey=${s}`,
    (s) => `SharedAccessSignature=sv=2022-11-02&sig=${encodeURIComponent(s)}`,
    (s) => `https://vaultacct.blob.core.windows.net/deltavault/disks/x/disk.vhd?sv=2022-11-02&se=2030-01-01&sig=${encodeURIComponent(s)}`,
    (s) => `sig=${encodeURIComponent(s)}`,
    (s) => `Authorization: Bearer ${s.replace(/[^A-Za-z0-9]/g, 'x')}`,
    (s) => `Authorization: SharedKey vaultacct:${s}`,
  ];
  const text = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^ -~]/g, ' '));

  test('secrets in error messages and reasons are scrubbed from the built event (and from what the consumer reads)', () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 0, max: carriers.length - 1 }), text, text, (secret, c, before, after) => {
        const carried = (carriers[c] as (s: string) => string)(secret);
        const message = `${before} ${carried} ${after}`;
        const failed = buildEvent(EVENT_TYPES.backupFailed, { jobId: JOB, diskKey: DISK, error: { code: 'STORAGE_FAILED', message } });
        const skipped = buildEvent(EVENT_TYPES.backupSkipped, { jobId: JOB, diskKey: DISK, reason: message });
        const restore = buildEvent(EVENT_TYPES.restoreFailed, {
          ...sampleData(EVENT_TYPES.restoreFailed, DISK, JOB),
          error: eventError(new Error(message)),
        });
        for (const event of [failed, skipped, restore]) {
          const json = JSON.stringify(event);
          expect(json).not.toContain(secret);
          expect(json).not.toContain(encodeURIComponent(secret));
          expect(JSON.stringify(parseJobEvent(json))).not.toContain(secret);
        }
        // A consumer given an unscrubbed message (another producer) scrubs it too.
        const raw = { ...failed, data: { ...failed.data, error: { code: 'STORAGE_FAILED', message } } };
        expect(JSON.stringify(parseJobEvent(JSON.stringify(raw)))).not.toContain(secret);
      }),
      { numRuns: 500 },
    );
  });

  test('values the settings registered (connection strings, keys) are scrubbed even without a telltale shape', () => {
    fc.assert(
      fc.property(secretArb, text, (secret, before) => {
        registerSecret(secret);
        const event = buildEvent(EVENT_TYPES.backupFailed, {
          jobId: JOB,
          diskKey: DISK,
          error: { code: 'STORAGE_FAILED', message: `${before}connecting with ${secret} failed` },
        });
        expect(JSON.stringify(event)).not.toContain(secret);
      }),
      { numRuns: 100 },
    );
  });

  test('an identifier carrying a secret is refused, and the refusal does not quote it', () => {
    fc.assert(
      fc.property(secretArb, fc.integer({ min: 0, max: carriers.length - 1 }), (secret, c) => {
        const carried = (carriers[c] as (s: string) => string)(secret);
        const attempts = [
          () => buildEvent(EVENT_TYPES.snapshotCreated, { jobId: JOB, diskKey: DISK, snapshotId: carried }),
          () =>
            buildEvent(EVENT_TYPES.restoreStarted, {
              ...sampleData(EVENT_TYPES.restoreStarted, DISK, JOB),
              target: { kind: 'pageBlob', container: 'restores', blob: 'x.vhd', account: carried },
            }),
          () => buildEvent(EVENT_TYPES.backupStarted, { jobId: JOB, diskKey: DISK, policy: carried, trigger: 'http' }),
        ];
        for (const attempt of attempts) {
          const err = expectDeltavaultError(attempt, 'INVALID_ARGUMENT');
          expect(err.message).toMatch(/must not carry a key, SAS token or connection string|must be/);
          expect(err.message).not.toContain(secret);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('reading events (the consumer side)', () => {
  const good = buildEvent(EVENT_TYPES.backupSucceeded, sampleData(EVENT_TYPES.backupSucceeded, DISK, JOB), { time: AT });
  const invalid = (message: unknown): string => expectDeltavaultError(() => parseJobEvent(message), 'INVALID_ARGUMENT').message;

  test('not JSON, not an object, not a CloudEvent: a clear INVALID_ARGUMENT', () => {
    expect(invalid('this is not json {')).toMatch(/^job event: the message is not JSON/);
    expect(invalid('[1,2]')).toMatch(/not a JSON object/);
    expect(invalid('42')).toMatch(/not a JSON object/);
    expect(invalid({ ...good, specversion: '0.3' })).toMatch(/specversion: must be "1\.0"/);
    expect(invalid({ ...good, type: 'com.example.other' })).toMatch(/type: must be one of the deltavault\.\* event types/);
    expect(invalid({ ...good, id: '' })).toMatch(/id: /);
    expect(invalid({ ...good, time: 'yesterday' })).toMatch(/time: must be an RFC 3339 date-time/);
    expect(invalid({ ...good, subject: 'db-data' })).toMatch(/subject: must be the disk key of data\.diskKey/);
    expect(invalid({ ...good, data: { jobId: JOB, diskKey: DISK } })).toMatch(/data\.recoveryPointId: /);
    const noData: Record<string, unknown> = { ...good };
    delete noData.data;
    expect(invalid(noData)).toMatch(/data: must be the event data, a JSON object/);
  });

  test('extension attributes are tolerated; times with an offset are read as UTC', () => {
    const read = parseJobEvent({ ...good, traceparent: '00-abc-def-01', time: '2024-03-05T08:08:09.01+01:00' });
    expect(read).toEqual({ ...good, time: '2024-03-05T07:08:09.010Z' });
  });
});
