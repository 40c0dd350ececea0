/** A job's record as a fold over its events (src/jobs/jobRecord.ts): the outcome of each kind of
 *  job, and the same record for any order of delivery and any duplicates. Pure. */
import fc from 'fast-check';
import { EVENT_TYPES, type EventType, type JobEvent } from '../../src/events/cloudEvents';
import { addEvent, deriveJob, emptyJobState, newestFirst, type JobRecord, type JobState } from '../../src/jobs/jobRecord';
import { expectDeltavaultError } from '../support/errors';
import { failedBackup, pointOf, sampleEvent, successfulBackup } from '../support/jobEvents';

const DISK = 'web-data';
const T0 = new Date('2024-03-05T07:00:00.000Z');

function fold(events: readonly JobEvent[]): JobRecord {
  const first = events[0] as JobEvent;
  return deriveJob(events.reduce<JobState>((state, e) => addEvent(state, e), emptyJobState(first)));
}

const at = (s: number): string => new Date(T0.getTime() + s * 1000).toISOString();

describe('the outcome of a job', () => {
  test('a backup that succeeded: every field its events carried, times from the events', () => {
    const job = fold(successfulBackup(DISK, 'job-1', T0));
    expect(job).toEqual<JobRecord>({
      jobId: 'job-1',
      diskKey: DISK,
      kind: 'backup',
      status: 'succeeded',
      startedAt: at(0),
      endedAt: at(4),
      updatedAt: at(4),
      events: [
        { type: EVENT_TYPES.backupStarted, id: expect.any(String), time: at(0) },
        { type: EVENT_TYPES.snapshotCreated, id: expect.any(String), time: at(1) },
        { type: EVENT_TYPES.recoveryPointCreated, id: expect.any(String), time: at(2) },
        { type: EVENT_TYPES.pruneCompleted, id: expect.any(String), time: at(3) },
        { type: EVENT_TYPES.backupSucceeded, id: expect.any(String), time: at(4) },
      ],
      trigger: 'schedule',
      policy: 'daily',
      snapshotId: '2024-03-05T07:08:09.0100000Z',
      recoveryPointId: pointOf(DISK, 8),
      bytesChanged: 3 * 1024 * 1024,
      bytesCleared: 512,
      bytesTransferred: 3 * 1024 * 1024,
      durationMs: 1234,
      prune: { deleted: [pointOf(DISK, 1)], kept: 2 },
    });
  });

  test('a backup that failed carries its error; one still running has no end', () => {
    const events = failedBackup(DISK, 'job-2', T0);
    const failed = fold(events);
    expect(failed).toMatchObject({ status: 'failed', endedAt: at(2), error: { code: 'STORAGE_FAILED' } });
    const running = fold(events.slice(0, 2));
    expect(running.status).toBe('running');
    expect(running.endedAt).toBeUndefined();
  });

  test('a skipped backup, a restore, a verify', () => {
    expect(fold([sampleEvent(EVENT_TYPES.backupSkipped, DISK, 'job-3', T0)])).toMatchObject({
      kind: 'backup',
      status: 'skipped',
      startedAt: at(0),
      endedAt: at(0),
      reason: 'the previous backup of this disk is still running',
    });
    const restore = [EVENT_TYPES.restoreStarted, EVENT_TYPES.restoreSucceeded].map((t, i) => sampleEvent(t, DISK, 'restore-1', new Date(T0.getTime() + i * 1000)));
    expect(fold(restore)).toMatchObject({
      kind: 'restore',
      status: 'succeeded',
      recoveryPointId: pointOf(DISK, 8),
      target: { kind: 'pageBlob', container: 'restores' },
      bytesWritten: 4 * 1024 * 1024,
    });
    expect(fold([sampleEvent(EVENT_TYPES.restoreFailed, DISK, 'restore-2', T0)])).toMatchObject({ kind: 'restore', status: 'failed', error: { code: 'STORAGE_FAILED' } });
    expect(fold([sampleEvent(EVENT_TYPES.verifyCompleted, DISK, 'verify-1', T0)])).toMatchObject({
      kind: 'verify',
      status: 'failed',
      verify: { ok: false, badBlocks: [3, 7] },
    });
  });

  test('the end beats the start whatever arrives first; without a start event the earliest event starts the job', () => {
    const [started, snapshot, failed] = failedBackup(DISK, 'job-4', T0) as [JobEvent, JobEvent, JobEvent];
    expect(fold([failed, snapshot]).status).toBe('failed');
    expect(fold([failed, snapshot]).startedAt).toBe(at(1));
    expect(fold([failed, started]).startedAt).toBe(at(0));
  });

  test('an event of another kind or another job is refused (it would poison the job)', () => {
    const state = emptyJobState(sampleEvent(EVENT_TYPES.backupStarted, DISK, 'job-5', T0));
    expect(expectDeltavaultError(() => addEvent(state, sampleEvent(EVENT_TYPES.restoreStarted, DISK, 'job-5', T0)), 'INVALID_ARGUMENT').message).toMatch(
      /is a restore event, but job 'job-5' of disk 'web-data' is a backup job/,
    );
    expectDeltavaultError(() => addEvent(state, sampleEvent(EVENT_TYPES.snapshotCreated, DISK, 'job-6', T0)), 'INVALID_ARGUMENT');
  });

  test('newest first: by start time, then job id', () => {
    const a = fold([sampleEvent(EVENT_TYPES.backupSkipped, DISK, 'a', T0)]);
    const b = fold([sampleEvent(EVENT_TYPES.backupSkipped, DISK, 'b', T0)]);
    const c = fold([sampleEvent(EVENT_TYPES.backupSkipped, DISK, 'c', new Date(T0.getTime() - 1000))]);
    expect([c, a, b].sort(newestFirst).map((j) => j.jobId)).toEqual(['b', 'a', 'c']);
  });
});

describe('any delivery order, any duplicates: the same record', () => {
  const BACKUP_TYPES: EventType[] = [
    EVENT_TYPES.backupStarted,
    EVENT_TYPES.snapshotCreated,
    EVENT_TYPES.recoveryPointCreated,
    EVENT_TYPES.pruneCompleted,
    EVENT_TYPES.backupSucceeded,
    EVENT_TYPES.backupFailed,
    EVENT_TYPES.backupSkipped,
  ];
  const RESTORE_TYPES: EventType[] = [EVENT_TYPES.restoreStarted, EVENT_TYPES.restoreSucceeded, EVENT_TYPES.restoreFailed];

  /** A job's events: a non-empty subset of its kind's types, each at a random time, some with a second step of the same type. */
  const jobEvents = fc
    .constantFrom(BACKUP_TYPES, RESTORE_TYPES)
    .chain((types) =>
      fc.uniqueArray(
        fc.record({ type: fc.constantFrom(...types), step: fc.constantFrom('', 'retry-2'), second: fc.integer({ min: 0, max: 30 }) }),
        { minLength: 1, maxLength: 10, selector: (x) => `${x.type}/${x.step}` },
      ),
    )
    .map((specs) => specs.map((s) => sampleEvent(s.type, DISK, 'job-p', new Date(T0.getTime() + s.second * 1000), s.step)));

  /** The events delivered: every one at least once, some again, in any order. */
  const delivery = jobEvents.chain((events) =>
    fc
      .tuple(
        fc.array(fc.integer({ min: 0, max: events.length - 1 }), { maxLength: 10 }),
        fc.array(fc.nat(), { minLength: events.length + 10, maxLength: events.length + 10 }),
      )
      .map(([dups, keys]) => {
        const all = [...events, ...dups.map((i) => events[i] as JobEvent)];
        const order = all.map((e, i) => ({ e, k: keys[i] ?? 0, i })).sort((a, b) => a.k - b.k || a.i - b.i);
        return { events, delivered: order.map((o) => o.e) };
      }),
  );

  test('fold(delivered) equals fold(events in emission order)', () => {
    fc.assert(
      fc.property(delivery, ({ events, delivered }) => {
        expect(fold(delivered)).toEqual(fold(events));
      }),
      { numRuns: 1000 },
    );
  });

  test('applying an event twice returns the very same state', () => {
    fc.assert(
      fc.property(jobEvents, (events) => {
        const state = events.reduce<JobState>((s, e) => addEvent(s, e), emptyJobState(events[0] as JobEvent));
        for (const e of events) expect(addEvent(state, e)).toBe(state);
        expect(state.eventIds).toHaveLength(events.length);
      }),
      { numRuns: 300 },
    );
  });
});
