/**
 * End to end, the backup workflow: deltavault compiled into an app folder and run by the devhost
 * CLI against the test run's Azurite, with a protection config file naming a page blob of that
 * Azurite (the vault account) and a policy whose schedule does not fire during the test.
 * `POST /api/backups` starts the disk orchestration (`backup-<diskKey>`); the test follows its
 * status URL to completion, lists the recovery points over HTTP and reads the job history the
 * events consumer built from the events queue.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { EVENT_TYPES } from '../../src/events/cloudEvents';
import type { JobRecord } from '../../src/jobs/jobRecord';
import type { RecoveryPointSummary } from '../../src/vault/manifest';
import { BLOCK_BYTES } from '../../src/vault/vaultLayout';
import { appSettings, buildApp, cleanUpApp, randomFunctionKey, type BuiltApp } from '../support/appBuild';
import { appHttp, expectProblem, type AppResponse } from '../support/appHttp';
import { startDevhostProcess, type DevhostProcess } from '../support/devhost';
import { writePattern } from '../support/diskData';
import { freshContainer } from '../support/storage';
import { eventually } from '../support/eventually';

const DISK_KEY = 'wf-disk';
/** A second disk, under a policy that fires every 10 s. */
const TICK_KEY = 'wf-tick';
const FUNCTION_KEY = randomFunctionKey();

let app: BuiltApp;
let devhost: DevhostProcess & { baseUrl: string };
let container: ContainerClient;
const http = appHttp(() => devhost.baseUrl, FUNCTION_KEY);

const postBackup = (body: unknown): Promise<AppResponse<{ id: string; statusQueryGetUri: string }>> => http.post('/api/backups', body);

interface Status {
  runtimeStatus: string;
  output?: { jobId: string; recoveryPointId: string; mode: string; bytesChanged: number } & Record<string, unknown>;
  customStatus?: { step: string; chunksDone: number; chunksTotal: number };
}

/** The backup orchestration's status once it has ended (Completed or Failed). */
const completed = (statusUri: string): Promise<Status> => http.settled<Status>(statusUri);
const pointsOf = (diskKey: string): Promise<RecoveryPointSummary[]> => http.getJson<RecoveryPointSummary[]>(`/api/disks/${diskKey}/recovery-points`);
const jobsWhere = (query: string): Promise<JobRecord[]> => http.getJson<JobRecord[]>(`/api/jobs?${query}`);

beforeAll(async () => {
  container = await freshContainer('e2e-wf');
  const disk = container.getPageBlobClient('sources/wf-disk.vhd');
  await disk.create(4 * BLOCK_BYTES);
  await writePattern(disk, 0, BLOCK_BYTES, (at) => `one${at}`);
  const tick = container.getPageBlobClient('sources/wf-tick.vhd');
  await tick.create(2 * BLOCK_BYTES);
  await writePattern(tick, BLOCK_BYTES, 8192, (at) => `tick${at}`);

  app = buildApp({}, {});
  const configPath = path.join(app.dir, 'protection-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      policies: [
        { name: 'wf', schedule: '0 0 0 1 1 *', retention: { keepLast: 2 } },
        { name: 'tick', schedule: '*/10 * * * * *', retention: { keepLast: 1 } },
      ],
      disks: [
        { source: disk.url, policy: 'wf', key: DISK_KEY },
        { source: tick.url, policy: 'tick', key: TICK_KEY },
      ],
    }),
  );
  app.writeSettings(appSettings(FUNCTION_KEY, { DELTAVAULT_VAULT_CONTAINER: container.containerName, DELTAVAULT_CONFIG: configPath }));
  devhost = await startDevhostProcess(app.cli, app.dir);
});

afterAll(() => cleanUpApp(app, devhost, container));

describe('the backup workflow through the local host', () => {
  test('POST /api/backups validates its body', async () => {
    expectProblem(await http.request('/api/backups', { method: 'POST', body: '{not json' }), 400);
    const wrong = await postBackup({ disk: DISK_KEY, policy: 'wf' });
    expect(wrong.status).toBe(400);
    expectProblem(await postBackup({ disk: 'no-such-disk' }), 404);
    const unknownPolicy = await postBackup({ policy: 'nope' });
    expect(unknownPolicy.status).toBe(404);
  });

  test('a backup on demand: 202 + status URLs, a recovery point, and its events', async () => {
    const res = await postBackup({ disk: DISK_KEY });
    expect(res.status).toBe(202);
    expect(res.body.id).toBe(`backup-${DISK_KEY}`);
    const status = await completed(res.body.statusQueryGetUri);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.customStatus).toMatchObject({ step: 'succeeded', chunksDone: 1, chunksTotal: 1 });
    const jobId = status.output?.jobId as string;
    expect(status.output?.mode).toBe('full');

    const points = await pointsOf(DISK_KEY);
    expect(points.map((p) => p.id)).toEqual([status.output?.recoveryPointId]);
    expect(points[0]?.jobId).toBe(jobId);

    const job = await eventually(async () => {
      const jobs = await jobsWhere(`disk=${DISK_KEY}`);
      const found = jobs.find((j) => j.jobId === jobId);
      expect(found?.status).toBe('succeeded');
      expect(found?.events.map((e) => e.type)).toEqual(
        expect.arrayContaining([
          EVENT_TYPES.backupStarted,
          EVENT_TYPES.snapshotCreated,
          EVENT_TYPES.recoveryPointCreated,
          EVENT_TYPES.pruneCompleted,
          EVENT_TYPES.backupSucceeded,
        ]),
      );
      return found as JobRecord;
    });
    expect(job.trigger).toBe('http');
    expect(job.policy).toBe('wf');
    expect(job.recoveryPointId).toBe(status.output?.recoveryPointId);
  });

  test('an incremental backup, then retention keeps the last two', async () => {
    const disk = container.getPageBlobClient('sources/wf-disk.vhd');
    await writePattern(disk, 2 * BLOCK_BYTES, BLOCK_BYTES / 2, (at) => `two${at}`);
    const second = await completed((await postBackup({ disk: DISK_KEY })).body.statusQueryGetUri);
    expect(second.runtimeStatus).toBe('Completed');
    expect(second.output?.mode).toBe('incremental');
    // Azurite's page-range diff is a superset of what changed (the engine then writes only differing pages).
    expect(second.output?.bytesChanged).toBeGreaterThanOrEqual(BLOCK_BYTES / 2);

    await writePattern(disk, 3 * BLOCK_BYTES, 4096, (at) => `three${at}`);
    const third = await completed((await postBackup({ policy: 'wf' })).body.statusQueryGetUri);
    expect(third.runtimeStatus).toBe('Completed');
    const points = await pointsOf(DISK_KEY);
    expect(points).toHaveLength(2);
    expect(points[1]?.jobId).toBe(second.output?.jobId);
    expect(third.output).toEqual({ policy: 'wf', disks: [DISK_KEY] });
    // The policy run's disk job pruned the first point and said so in prune.completed.
    const pruned = await eventually(async () => {
      const jobs = await jobsWhere(`disk=${DISK_KEY}&status=succeeded`);
      const job = jobs.find((j) => j.trigger === 'http' && j.prune && j.prune.deleted.length > 0);
      expect(job).toBeDefined();
      return job as JobRecord;
    });
    expect(pruned.prune?.deleted).toHaveLength(1);
    expect(pruned.prune?.kept).toBe(2);
  });

  test('a policy schedule fires: a recovery point of its disk, a job with trigger schedule', async () => {
    const points = await eventually(async () => {
      const list = await pointsOf(TICK_KEY);
      expect(list.length).toBeGreaterThan(0);
      return list;
    }, 25_000);
    const job = await eventually(async () => {
      const jobs = await jobsWhere(`disk=${TICK_KEY}&status=succeeded`);
      const found = jobs.find((j) => j.jobId === points[points.length - 1]?.jobId);
      // The consumer takes events in any order: wait until backup.started is in too.
      expect(found?.trigger).toBe('schedule');
      return found as JobRecord;
    });
    expect(job.policy).toBe('tick');
  });

  test('pruning removed the source snapshots retention does not keep', async () => {
    const snapshots: string[] = [];
    for await (const item of container.listBlobsFlat({ prefix: 'sources/wf-disk.vhd', includeSnapshots: true })) {
      if (item.snapshot) snapshots.push(item.snapshot);
    }
    // Only the newest recovery point's (the next diff base); instantRestoreDays is not set.
    expect(snapshots).toHaveLength(1);
  });

  test('two backups of one disk at once: one runs, the other is skipped', async () => {
    const [a, b] = await Promise.all([postBackup({ disk: DISK_KEY }), postBackup({ disk: DISK_KEY })]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect((await completed(a.body.statusQueryGetUri)).runtimeStatus).toBe('Completed');
    await eventually(async () => {
      const skipped = await jobsWhere(`disk=${DISK_KEY}&status=skipped`);
      expect(skipped).toHaveLength(1);
      expect(skipped[0]?.reason).toMatch(/still running|started first|still pending/);
    });
    const points = await pointsOf(DISK_KEY);
    expect(points).toHaveLength(2);
  });
});
