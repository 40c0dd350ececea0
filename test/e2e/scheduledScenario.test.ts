/**
 * End to end, the service as an operator sees it (issue 4's acceptance 1-3): deltavault compiled
 * into an app folder and run by the devhost CLI against the test run's Azurite, protecting one
 * page blob with a policy that fires every 30 s and keeps the last two recovery points.
 *
 *   fire 1 → recovery point 1; the test writes and clears ranges on the disk;
 *   fire 2 → recovery point 2, whose bytesChanged / bytesCleared are what the test did;
 *   restore both (byte for byte what the disk held), verify one;
 *   fire 3 → recovery point 3 prunes point 1 (manifest, hash list and vault snapshot gone,
 *   prune.completed names it); restoring 2 and 3 still works.
 *
 * The first host runs with the job-events consumer disabled (`AzureWebJobs.recordJobEvent.Disabled`),
 * so every message the app sent is still on the events queue: the test reads them all and checks
 * each is a valid CloudEvent and that each job's events come in a sensible order. Then a second
 * host on the same app (the consumer on, the schedule off) builds the job history from those
 * very messages, and `GET /api/jobs` and `GET /api/disks` show every job with its outcome.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import type { DiskStatus } from '../../src/api/disksApi';
import { ALL_EVENT_TYPES, EVENT_TYPES, type EventType } from '../../src/events/cloudEvents';
import type { JobRecord } from '../../src/jobs/jobRecord';
import type { RecoveryPointSummary } from '../../src/vault/manifest';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { vaultPaths } from '../../src/vault/vaultLayout';
import { appSettings, buildApp, cleanUpApp, randomFunctionKey, type BuiltApp } from '../support/appBuild';
import { appHttp } from '../support/appHttp';
import { startDevhostProcess, testQueue, type DevhostProcess } from '../support/devhost';
import { pattern } from '../support/diskData';
import { eventually } from '../support/eventually';
import { freshContainer, readWhole, testBlobService } from '../support/storage';

const KiB = 1024;
const MiB = 1024 * KiB;
const DISK_KEY = 'sc-disk';
const DISK_BYTES = 8 * MiB;
const SCHEDULE_SECONDS = 30;
const FUNCTION_KEY = randomFunctionKey();
const RESTORES = 'restores';
const FOLDER = `e2e-sc-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const CONSUMER = 'recordJobEvent';
const TIMER = 'backupSchedule-sc';

let app: BuiltApp;
let devhost: DevhostProcess & { baseUrl: string };
let container: ContainerClient;
let disk: PageBlobClient;
/** What the disk holds, kept by the test as it writes. */
const model = Buffer.alloc(DISK_BYTES);
const http = appHttp(() => devhost.baseUrl, FUNCTION_KEY);

async function write(offset: number, bytes: number, seed: string): Promise<void> {
  const data = pattern(seed, bytes);
  await disk.uploadPages(data, offset, bytes);
  data.copy(model, offset);
}
async function clear(offset: number, bytes: number): Promise<void> {
  await disk.clearPages(offset, bytes);
  model.fill(0, offset, offset + bytes);
}

/** The disk's recovery points once there are `count` (newest first). */
function pointsWhen(count: number): Promise<RecoveryPointSummary[]> {
  return eventually(async () => {
    const points = await http.getJson<RecoveryPointSummary[]>(`/api/disks/${DISK_KEY}/recovery-points`);
    expect(points.length).toBeGreaterThanOrEqual(count);
    return points;
  }, (SCHEDULE_SECONDS + 20) * 1000);
}

interface RestoreStatus {
  id: string;
  runtimeStatus: string;
  output?: { bytesWritten: number };
  progress: { bytesDone: number; bytesTotal: number };
}

/** Restores `rpId` into `<FOLDER>/<name>` and follows GET /api/restores/{id} to its end. */
async function restore(rpId: string, name: string): Promise<{ status: RestoreStatus; content: Buffer }> {
  const res = await http.post<{ id: string }>('/api/restores', { recoveryPointId: rpId, target: { kind: 'pageBlob', container: RESTORES, blob: `${FOLDER}/${name}` } });
  expect(res.status).toBe(202);
  const status = await http.settled<RestoreStatus>(`/api/restores/${res.body.id}`, 60_000);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.progress.bytesDone).toBe(status.progress.bytesTotal);
  expect(status.output?.bytesWritten).toBe(status.progress.bytesDone);
  return { status, content: await readWhole(testBlobService().getContainerClient(RESTORES).getPageBlobClient(`${FOLDER}/${name}`)) };
}

beforeAll(async () => {
  container = await freshContainer('e2e-sc');
  await testBlobService().getContainerClient(RESTORES).createIfNotExists();
  disk = container.getPageBlobClient('sources/sc-disk.vhd');
  await disk.create(DISK_BYTES);
  await write(0, 2 * MiB, 'base-a');
  await write(5 * MiB, 512 * KiB, 'base-b');

  app = buildApp({}, {});
  const configPath = path.join(app.dir, 'protection-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      policies: [{ name: 'sc', schedule: `*/${SCHEDULE_SECONDS} * * * * *`, retention: { keepLast: 2 } }],
      disks: [{ source: disk.url, policy: 'sc', key: DISK_KEY }],
    }),
  );
  app.writeSettings(appSettings(FUNCTION_KEY, { DELTAVAULT_VAULT_CONTAINER: container.containerName, DELTAVAULT_RESTORE_TARGETS: RESTORES, DELTAVAULT_CONFIG: configPath }));
  devhost = await startDevhostProcess(app.cli, app.dir, { [`AzureWebJobs.${CONSUMER}.Disabled`]: 'true' });
});

afterAll(async () => {
  await cleanUpApp(app, devhost, container);
  const restores = testBlobService().getContainerClient(RESTORES);
  for await (const item of restores.listBlobsFlat({ prefix: `${FOLDER}/` })) await restores.deleteBlob(item.name).catch(() => undefined);
});

interface RawEvent {
  specversion: string;
  id: string;
  source: string;
  type: EventType;
  subject: string;
  time: string;
  datacontenttype: string;
  data: Record<string, unknown> & { jobId: string; diskKey: string };
}

test('schedule → points → restore, verify, prune; every event a CloudEvent in order; the job history shows it all', async () => {
  // ---- fire 1: the first recovery point, of the disk as the test seeded it
  const [first] = await pointsWhen(1);
  const rp1 = first!.id;
  const atPoint1 = Buffer.from(model);
  expect(first!.mode).toBe('full');
  const disks = await http.getJson<DiskStatus[]>('/api/disks');
  expect(disks).toHaveLength(1);
  expect(disks[0]).toMatchObject({ key: DISK_KEY, policy: 'sc', source: { kind: 'pageBlob', url: disk.url }, lastRecoveryPoint: { id: rp1 }, rpo: { met: true } });

  // ---- between the fires: writes (into data and into empty space) and a clear
  await write(1 * MiB + 8 * KiB, 64 * KiB, 'change-a');
  await write(6 * MiB, 128 * KiB, 'change-b');
  await clear(256 * KiB, 256 * KiB);
  const atPoint2 = Buffer.from(model);

  // ---- fire 2: an incremental point with exactly those bytes
  const second = (await pointsWhen(2))[0]!;
  const rp2 = second.id;
  expect(second.previousRecoveryPointId).toBe(rp1);
  expect(second.mode).toBe('incremental');
  expect(second.bytes.changed).toBe(192 * KiB);
  expect(second.bytes.cleared).toBe(256 * KiB);

  // ---- restore both points, verify one
  const [one, two] = await Promise.all([restore(rp1, 'one.vhd'), restore(rp2, 'two.vhd')]);
  expect(one.content.equals(atPoint1)).toBe(true);
  expect(two.content.equals(atPoint2)).toBe(true);
  const verify = await http.post<{ statusQueryGetUri: string }>(`/api/recovery-points/${rp2}/verify`, {});
  expect(verify.status).toBe(202);
  const verifyStatus = await http.settled<{ runtimeStatus: string; output?: { ok: boolean; badBlocks: number[]; blocksChecked: number } }>(verify.body.statusQueryGetUri);
  expect(verifyStatus.runtimeStatus).toBe('Completed');
  const verified = verifyStatus.output!;
  expect(verified).toMatchObject({ ok: true, badBlocks: [] });
  expect(verified.blocksChecked).toBeGreaterThan(0);

  // ---- fire 3: point 3 (nothing changed), and retention drops point 1
  const third = await eventually(async () => {
    const points = await http.getJson<RecoveryPointSummary[]>(`/api/disks/${DISK_KEY}/recovery-points`);
    expect(points.map((p) => p.id)).not.toContain(rp1);
    return points;
  }, (SCHEDULE_SECONDS + 20) * 1000);
  expect(third).toHaveLength(2);
  const rp3 = third[0]!.id;
  expect(third[1]!.id).toBe(rp2);
  expect(third[0]!.bytes.changed).toBe(0);
  expect((await http.request(`/api/recovery-points/${rp1}`)).status).toBe(404);
  expect(await container.getBlobClient(vaultPaths.manifest(DISK_KEY, rp1)).exists()).toBe(false);
  expect(await container.getBlobClient(vaultPaths.blockHashes(DISK_KEY, rp1)).exists()).toBe(false);
  expect(await new VaultDisk(container, DISK_KEY).snapshotsOf(rp1)).toEqual([]);
  const [twoAgain, three] = await Promise.all([restore(rp2, 'two-again.vhd'), restore(rp3, 'three.vhd')]);
  expect(twoAgain.content.equals(atPoint2)).toBe(true);
  expect(three.content.equals(atPoint2)).toBe(true);
  const restoreIds = [one, two, twoAgain, three].map((r) => r.status.id);

  // ---- the events queue: every message a CloudEvent; each job's events in order
  expect(await devhost.stop()).toBe(0);
  const queue = testQueue(app.eventsQueue);
  const events = new Map<string, RawEvent>();
  for (;;) {
    // Received, not deleted: they come back after 5 s, for the second host's consumer.
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 5 });
    if (receivedMessageItems.length === 0) break;
    for (const m of receivedMessageItems) {
      const e = JSON.parse(m.messageText) as RawEvent;
      expect(e.specversion).toBe('1.0');
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.source).toMatch(/^\/deltavault\/[a-z0-9-]+$/);
      expect(ALL_EVENT_TYPES).toContain(e.type);
      expect(e.subject).toBe(DISK_KEY);
      expect(new Date(e.time).toISOString()).toBe(e.time);
      expect(e.datacontenttype).toBe('application/json');
      expect(e.data.diskKey).toBe(DISK_KEY);
      expect(typeof e.data.jobId).toBe('string');
      expect(events.has(e.id)).toBe(false); // one message per event
      events.set(e.id, e);
    }
  }
  const byJob = new Map<string, RawEvent[]>();
  for (const e of events.values()) byJob.set(e.data.jobId, [...(byJob.get(e.data.jobId) ?? []), e]);
  const inOrder = (jobId: string, types: EventType[]): RawEvent[] => {
    const list = byJob.get(jobId) ?? [];
    expect(list.map((e) => e.type).sort()).toEqual([...types].sort());
    const ordered = types.map((t) => list.find((e) => e.type === t)!);
    for (let i = 1; i < ordered.length; i++) expect(ordered[i]!.time >= ordered[i - 1]!.time).toBe(true);
    return ordered;
  };
  const backup = [EVENT_TYPES.backupStarted, EVENT_TYPES.snapshotCreated, EVENT_TYPES.recoveryPointCreated, EVENT_TYPES.pruneCompleted, EVENT_TYPES.backupSucceeded];
  const backupJobs = [first!, second, third[0]!].map((p) => p.jobId);
  for (const jobId of backupJobs) {
    const [started, , created, pruned] = inOrder(jobId, backup);
    expect(started!.data).toMatchObject({ policy: 'sc', trigger: 'schedule' });
    if (jobId === second.jobId) expect(created!.data).toMatchObject({ recoveryPointId: rp2, bytesChanged: 192 * KiB, bytesCleared: 256 * KiB });
    if (jobId === third[0]!.jobId) expect(pruned!.data).toMatchObject({ deleted: [rp1], kept: 2 });
  }
  for (const id of restoreIds) inOrder(id, [EVENT_TYPES.restoreStarted, EVENT_TYPES.restoreSucceeded]);
  const verifyJobs = [...byJob.entries()].filter(([, list]) => list.some((e) => e.type === EVENT_TYPES.verifyCompleted));
  expect(verifyJobs).toHaveLength(1);
  inOrder(verifyJobs[0]![0], [EVENT_TYPES.verifyCompleted]);
  expect(verifyJobs[0]![1][0]!.data).toMatchObject({ recoveryPointId: rp2, ok: true, badBlocks: [] });
  // Nothing else: no failures, no skips; a later fire may have started one more backup.
  const known = new Set([...backupJobs, ...restoreIds, verifyJobs[0]![0]]);
  for (const [jobId, list] of byJob) if (!known.has(jobId)) expect(list.every((e) => e.type !== EVENT_TYPES.backupFailed)).toBe(true);

  // ---- a second host (consumer on, schedule off) builds the job history from those messages
  devhost = await startDevhostProcess(app.cli, app.dir, { [`AzureWebJobs.${TIMER}.Disabled`]: 'true' });
  const jobs = await eventually(async () => {
    const list = await http.getJson<JobRecord[]>(`/api/jobs?disk=${DISK_KEY}`);
    for (const jobId of [...backupJobs, ...restoreIds, verifyJobs[0]![0]]) {
      const job = list.find((j) => j.jobId === jobId);
      expect(job?.status).toBe('succeeded');
      expect(job?.events).toHaveLength((byJob.get(jobId) ?? []).length);
    }
    return list;
  }, 60_000);
  expect(jobs.find((j) => j.jobId === third[0]!.jobId)).toMatchObject({ kind: 'backup', trigger: 'schedule', prune: { deleted: [rp1], kept: 2 } });
  expect(jobs.find((j) => j.jobId === verifyJobs[0]![0])).toMatchObject({ kind: 'verify', verify: { ok: true, badBlocks: [] }, recoveryPointId: rp2 });
  const [status] = await http.getJson<DiskStatus[]>('/api/disks');
  const newestBackup = jobs.filter((j) => j.kind === 'backup')[0]!;
  expect(status).toMatchObject({ key: DISK_KEY, lastJob: { jobId: newestBackup.jobId, status: newestBackup.status } });
  expect(status!.lastRecoveryPoint?.takenAt).toBeDefined();
}, 240_000);
