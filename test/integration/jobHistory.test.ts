/** The job history on a real table (Azurite): applyEvent is idempotent by event id, any delivery
 *  order (and concurrent delivery) gives the same job, malformed messages are refused; listJobs
 *  filters and sorts; GET /api/jobs validates its query. */
import { randomBytes, randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import fc from 'fast-check';
import { jobsApi } from '../../src/api/jobsApi';
import { EVENT_TYPES, buildEvent, type JobEvent } from '../../src/events/cloudEvents';
import { DeltavaultError } from '../../src/errors';
import { EVENT_ROW_PREFIX, applyEvent, lastJobPerDisk, listJobs, readJob } from '../../src/jobs/jobHistory';
import { addEvent, deriveJob, emptyJobState, type JobRecord, type JobState } from '../../src/jobs/jobRecord';
import type { Problem } from '../../src/http/problem';
import { testStorage } from '../support/devhost';
import { failedBackup, sampleData, sampleEvent, successfulBackup } from '../support/jobEvents';

const T0 = new Date('2024-03-05T07:00:00.000Z');
const tables: TableClient[] = [];

function freshTable(): TableClient {
  const table = TableClient.fromConnectionString(testStorage(), `jobs${Date.now().toString(36)}${randomBytes(4).toString('hex')}`, {
    allowInsecureConnection: true,
  });
  tables.push(table);
  return table;
}

afterAll(async () => {
  await Promise.allSettled(tables.map((t) => t.deleteTable()));
});

function fold(events: readonly JobEvent[]): JobRecord {
  return deriveJob(events.reduce<JobState>((s, e) => addEvent(s, e), emptyJobState(events[0] as JobEvent)));
}

async function rejection(p: Promise<unknown>): Promise<DeltavaultError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DeltavaultError);
  return e as DeltavaultError;
}

describe('applyEvent', () => {
  test('an event is applied once: a duplicate changes nothing and says so', async () => {
    const table = freshTable();
    const [started, snapshot] = successfulBackup('web-data', 'job-1', T0) as [JobEvent, JobEvent];
    const first = await applyEvent(table, JSON.stringify(started));
    expect(first.applied).toBe(true);
    expect(first.job).toMatchObject({ jobId: 'job-1', diskKey: 'web-data', status: 'running', startedAt: T0.toISOString() });
    const again = await applyEvent(table, JSON.stringify(started));
    expect(again).toEqual({ ...first, applied: false });
    // A retried step: same id, another time; still one event.
    const retried = buildEvent(EVENT_TYPES.backupStarted, sampleData(EVENT_TYPES.backupStarted, 'web-data', 'job-1'), { time: new Date(T0.getTime() + 5000) });
    expect(retried.id).toBe(started.id);
    expect((await applyEvent(table, retried)).applied).toBe(false);
    await applyEvent(table, snapshot);

    const rows = [];
    for await (const row of table.listEntities()) rows.push(row);
    expect(rows.map((r) => [r.partitionKey, r.rowKey, r.entityType]).sort()).toEqual(
      [
        ['web-data', 'job-1', 'job'],
        ['web-data', `${EVENT_ROW_PREFIX}${started.id}`, 'event'],
        ['web-data', `${EVENT_ROW_PREFIX}${snapshot.id}`, 'event'],
      ].sort(),
    );
    expect(rows.find((r) => r.rowKey === 'job-1')).toMatchObject({ kind: 'backup', status: 'running', eventCount: 2, startedAt: T0.toISOString() });
  });

  test('out of order, duplicated and concurrent: the job is the one its events make', async () => {
    const table = freshTable();
    const events = successfulBackup('web-data', 'job-2', T0);
    const reversed = [...events].reverse();
    // The queue trigger runs a batch in parallel: every event twice, all at once.
    const results = await Promise.all([...reversed, ...events].map((e) => applyEvent(table, JSON.stringify(e))));
    expect(results.filter((r) => r.applied)).toHaveLength(events.length);
    const job = await readJob(table, 'web-data', 'job-2');
    expect(job).toEqual(fold(events));
    expect(job?.status).toBe('succeeded');
  });

  test('random permutations with duplicates on a real table: the same record every time', async () => {
    const events = [...successfulBackup('db-data', 'job-p', T0), ...failedBackup('db-data', 'job-p', T0).slice(2)];
    const expected = fold(events);
    expect(expected.status).toBe('failed');
    await fc.assert(
      fc.asyncProperty(fc.shuffledSubarray([...events, ...events.slice(0, 3)], { minLength: events.length + 3 }), async (delivered) => {
        const table = freshTable();
        for (const e of delivered) await applyEvent(table, e);
        expect(await readJob(table, 'db-data', 'job-p')).toEqual(expected);
      }),
      { numRuns: 5 },
    );
  });

  test('a job whose state outgrows one table property (a prune of 1000 points) is kept over several', async () => {
    const table = freshTable();
    const disk = 'a-disk-key-that-is-long-enough-to-make-long-recovery-point-ids';
    const deleted = Array.from({ length: 1000 }, (_, i) => `${disk}.2024030${1 + (i % 9)}T0${i % 10}0000${String(i).padStart(3, '0')}Z`);
    const prune = buildEvent(EVENT_TYPES.pruneCompleted, { jobId: 'job-big', diskKey: disk, deleted, kept: 3 });
    await applyEvent(table, prune);
    await applyEvent(table, sampleEvent(EVENT_TYPES.backupStarted, disk, 'job-big', T0));
    const row = await table.getEntity<Record<string, unknown>>(disk, 'job-big');
    expect(row.stateParts).toBeGreaterThan(1);
    expect((await readJob(table, disk, 'job-big'))?.prune).toEqual({ deleted, kept: 3 });
  });

  test('a malformed message is INVALID_ARGUMENT (for the poison queue) and writes nothing', async () => {
    const table = freshTable();
    for (const bad of ['not json', '{"specversion":"1.0"}', JSON.stringify({ ...successfulBackup('a1', 'j', T0)[0], subject: 'b2' })]) {
      const err = await rejection(applyEvent(table, bad));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(/^job event/);
    }
    // A restore event for a backup's job id can never be applied either.
    await applyEvent(table, sampleEvent(EVENT_TYPES.backupStarted, 'a1', 'job-x', T0));
    const conflict = await rejection(applyEvent(table, sampleEvent(EVENT_TYPES.restoreStarted, 'a1', 'job-x', T0)));
    expect(conflict.message).toMatch(/is a restore event, but job 'job-x' of disk 'a1' is a backup job/);
    expect(await listJobs(table)).toHaveLength(1);
  });
});

describe('listJobs, lastJobPerDisk', () => {
  let table: TableClient;
  beforeAll(async () => {
    table = freshTable();
    const minute = (m: number): Date => new Date(T0.getTime() + m * 60_000);
    const all = [
      ...successfulBackup('web-data', 'web-1', minute(0)),
      ...failedBackup('web-data', 'web-2', minute(10)),
      ...successfulBackup('db-data', 'db-1', minute(5)),
      sampleEvent(EVENT_TYPES.backupSkipped, 'db-data', 'db-2', minute(20)),
      sampleEvent(EVENT_TYPES.restoreStarted, 'db-data', 'restore-1', minute(30)),
    ];
    await Promise.all(all.map((e) => applyEvent(table, e)));
  });

  test('newest first by start; filters by disk, status, since; limit', async () => {
    expect((await listJobs(table)).map((j) => j.jobId)).toEqual(['restore-1', 'db-2', 'web-2', 'db-1', 'web-1']);
    expect((await listJobs(table, { disk: 'web-data' })).map((j) => j.jobId)).toEqual(['web-2', 'web-1']);
    expect((await listJobs(table, { status: 'succeeded' })).map((j) => j.jobId)).toEqual(['db-1', 'web-1']);
    expect((await listJobs(table, { status: 'running' })).map((j) => [j.jobId, j.kind])).toEqual([['restore-1', 'restore']]);
    expect((await listJobs(table, { since: new Date(T0.getTime() + 10 * 60_000) })).map((j) => j.jobId)).toEqual(['restore-1', 'db-2', 'web-2']);
    expect((await listJobs(table, { disk: 'db-data', status: 'skipped' })).map((j) => j.jobId)).toEqual(['db-2']);
    expect((await listJobs(table, { limit: 2 })).map((j) => j.jobId)).toEqual(['restore-1', 'db-2']);
  });

  test("each disk's newest job, of any kind or of one", async () => {
    const last = await lastJobPerDisk(table);
    expect([...last.entries()].map(([d, j]) => [d, j.jobId]).sort()).toEqual([
      ['db-data', 'restore-1'],
      ['web-data', 'web-2'],
    ]);
    const backups = await lastJobPerDisk(table, { kind: 'backup' });
    expect(backups.get('db-data')?.jobId).toBe('db-2');
  });

  test('a history with no table yet is empty', async () => {
    const none = TableClient.fromConnectionString(testStorage(), `none${randomBytes(6).toString('hex')}`, { allowInsecureConnection: true });
    expect(await listJobs(none)).toEqual([]);
    expect((await lastJobPerDisk(none)).size).toBe(0);
  });

  describe('GET /api/jobs (the handler, without the host)', () => {
    const context = () => ({ invocationId: randomUUID(), error: jest.fn() });
    const call = (query: string) => jobsApi(() => table).listJobs({ query: new URLSearchParams(query) }, context());

    test('200 with the jobs; empty parameters count as absent; the function key is ignored', async () => {
      const res = await call('disk=web-data&status=&since=&code=secret-key');
      expect(res.status).toBe(200);
      expect((res.jsonBody as JobRecord[]).map((j) => [j.jobId, j.status])).toEqual([
        ['web-2', 'failed'],
        ['web-1', 'succeeded'],
      ]);
      const since = await call('since=2024-03-05T08:20:00%2B01:00');
      expect((since.jsonBody as JobRecord[]).map((j) => j.jobId)).toEqual(['restore-1', 'db-2']);
    });

    test('400 problem+json naming every bad parameter', async () => {
      const res = await call('disk=Web_Data&status=done&since=yesterday&limit=0');
      expect(res.status).toBe(400);
      expect(res.headers).toEqual({ 'content-type': 'application/problem+json' });
      const problem = JSON.parse(res.body as string) as Problem;
      expect(problem.code).toBe('INVALID_ARGUMENT');
      expect(problem.errors?.map((e) => e.parameter).sort()).toEqual(['disk', 'limit', 'since', 'status']);
      expect(problem.detail).toMatch(/status: must be one of running, succeeded, failed, skipped/);
      expect(problem.detail).not.toContain('Web_Data');
    });
  });
});
