/**
 * End to end, the restore workflow: deltavault compiled into an app folder and run by the devhost
 * CLI against the test run's Azurite. The test backs up a page blob twice over HTTP (writing and
 * clearing ranges in between), restores both recovery points with `POST /api/restores` into the
 * allowed `restores` container, follows `GET /api/restores/{id}` to completion and compares each
 * restored blob byte for byte with the source snapshot of its recovery point. Bad requests are
 * problem+json 4xx answers that change nothing: no target blob, the vault as it was.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { EVENT_TYPES } from '../../src/events/cloudEvents';
import type { JobRecord } from '../../src/jobs/jobRecord';
import type { RecoveryPointSummary } from '../../src/vault/manifest';
import { BLOCK_BYTES, vaultPaths } from '../../src/vault/vaultLayout';
import { manifestSchema } from '../../src/vault/manifest';
import { readJson, writeJson } from '../../src/vault/jsonBlob';
import { appSettings, buildApp, cleanUpApp, randomFunctionKey, type BuiltApp } from '../support/appBuild';
import { appHttp, expectProblem } from '../support/appHttp';
import { startDevhostProcess, type DevhostProcess } from '../support/devhost';
import { writePattern } from '../support/diskData';
import { freshContainer, readWhole, testBlobService } from '../support/storage';
import { eventually as eventuallyWithin } from '../support/eventually';

const DISK_KEY = 'rs-disk';
const FUNCTION_KEY = randomFunctionKey();
const RESTORES = 'restores';
/** This run's folder in the shared `restores` container. */
const FOLDER = `e2e-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

let app: BuiltApp;
let devhost: DevhostProcess & { baseUrl: string };
let container: ContainerClient;
const http = appHttp(() => devhost.baseUrl, FUNCTION_KEY);

/** How long this file waits for an orchestration or the job history. */
const WAIT_MS = 60_000;
const eventually = <T>(check: () => Promise<T>, timeoutInMs = WAIT_MS): Promise<T> => eventuallyWithin(check, timeoutInMs);

/** What `POST /api/backups`, `/api/restores` and `/verify` answer (202). */
interface Started {
  id: string;
  statusQueryGetUri: string;
}

async function backUp(): Promise<string> {
  const res = await http.post<Started>('/api/backups', { disk: DISK_KEY });
  expect(res.status).toBe(202);
  const status = await http.settled<{ runtimeStatus: string; output?: { recoveryPointId: string } }>(res.body.statusQueryGetUri, WAIT_MS);
  expect(status.runtimeStatus).toBe('Completed');
  return status.output?.recoveryPointId as string;
}

interface VerifyStatus {
  runtimeStatus: string;
  output?: { ok: boolean; badBlocks: number[] };
}

interface RestoreStatus {
  id: string;
  runtimeStatus: string;
  output?: { bytesWritten: number; sizeBytes: number };
  progress: { bytesDone: number; bytesTotal: number };
}

async function restore(recoveryPointId: string, blob: string): Promise<RestoreStatus> {
  const res = await http.post<Started>('/api/restores', { recoveryPointId, target: { kind: 'pageBlob', container: RESTORES, blob } });
  expect(res.status).toBe(202);
  expect(res.body.id).toMatch(/^restore-[0-9a-f]{32}$/);
  return http.settled<RestoreStatus>(`/api/restores/${res.body.id}`, WAIT_MS);
}

/** Every blob of the vault container, with its ETag (what "the vault changed" would show). */
async function vaultState(): Promise<string[]> {
  const out: string[] = [];
  for await (const item of container.listBlobsFlat({ includeSnapshots: true })) {
    if (item.name.startsWith('sources/')) continue;
    out.push(`${item.name}@${item.snapshot ?? ''}:${item.properties.etag ?? ''}`);
  }
  return out.sort();
}

beforeAll(async () => {
  container = await freshContainer('e2e-rs');
  await testBlobService().getContainerClient(RESTORES).createIfNotExists();
  const disk = container.getPageBlobClient('sources/rs-disk.vhd');
  await disk.create(4 * BLOCK_BYTES);
  await writePattern(disk, 0, BLOCK_BYTES, (at) => `one${at}`);
  await writePattern(disk, 2 * BLOCK_BYTES, BLOCK_BYTES, (at) => `two${at}`);

  app = buildApp({}, {});
  const configPath = path.join(app.dir, 'protection-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      // instantRestoreDays keeps both points' source snapshots, which the test compares with.
      policies: [{ name: 'rs', schedule: '0 0 0 1 1 *', retention: { keepLast: 2, instantRestoreDays: 7 } }],
      disks: [{ source: disk.url, policy: 'rs', key: DISK_KEY }],
    }),
  );
  app.writeSettings(appSettings(FUNCTION_KEY, { DELTAVAULT_VAULT_CONTAINER: container.containerName, DELTAVAULT_RESTORE_TARGETS: RESTORES, DELTAVAULT_CONFIG: configPath }));
  devhost = await startDevhostProcess(app.cli, app.dir);
});

afterAll(async () => {
  await cleanUpApp(app, devhost, container);
  const restores = testBlobService().getContainerClient(RESTORES);
  for await (const item of restores.listBlobsFlat({ prefix: `${FOLDER}/` })) await restores.deleteBlob(item.name).catch(() => undefined);
});

describe('the restore workflow through the local host', () => {
  let first: string;
  let second: string;

  test('two backups, then each recovery point restores byte for byte', async () => {
    const disk = container.getPageBlobClient('sources/rs-disk.vhd');
    first = await backUp();
    await writePattern(disk, BLOCK_BYTES / 2, BLOCK_BYTES, (at) => `three${at}`);
    await disk.clearPages(2 * BLOCK_BYTES, BLOCK_BYTES / 2);
    await writePattern(disk, 3 * BLOCK_BYTES + 8192, 4096, (at) => `four${at}`);
    second = await backUp();
    expect(second).not.toBe(first);

    for (const [rpId, name] of [
      [first, `${FOLDER}/first.vhd`],
      [second, `${FOLDER}/second.vhd`],
    ] as const) {
      const status = await restore(rpId, name);
      expect(status.runtimeStatus).toBe('Completed');
      expect(status.progress.bytesTotal).toBeGreaterThan(0);
      expect(status.progress.bytesDone).toBe(status.progress.bytesTotal);
      expect(status.output?.bytesWritten).toBe(status.progress.bytesDone);

      const point = await http.getJson<RecoveryPointSummary>(`/api/recovery-points/${rpId}`);
      const source = await readWhole(disk.withSnapshot(point.source.snapshotId));
      const restored = await readWhole(testBlobService().getContainerClient(RESTORES).getPageBlobClient(name));
      expect(restored.length).toBe(source.length);
      expect(restored.equals(source)).toBe(true);

      // restore.started and restore.succeeded reached the job history (job id = instance id).
      const job = await eventually(async () => {
        const jobs = await http.getJson<JobRecord[]>(`/api/jobs?disk=${DISK_KEY}`);
        const found = jobs.find((j) => j.jobId === status.id);
        expect(found?.status).toBe('succeeded');
        expect(found?.events.map((e) => e.type)).toEqual(expect.arrayContaining([EVENT_TYPES.restoreStarted, EVENT_TYPES.restoreSucceeded]));
        return found as JobRecord;
      });
      expect(job.recoveryPointId).toBe(rpId);
      expect(job.bytesWritten).toBe(status.output?.bytesWritten);
    }
    const restores = testBlobService().getContainerClient(RESTORES);
    const one = await readWhole(restores.getPageBlobClient(`${FOLDER}/first.vhd`));
    const two = await readWhole(restores.getPageBlobClient(`${FOLDER}/second.vhd`));
    expect(one.equals(two)).toBe(false);
  });

  test('restoring into an existing blob is a 409 that changes nothing', async () => {
    const res = await http.post('/api/restores', { recoveryPointId: first, target: { kind: 'pageBlob', container: RESTORES, blob: `${FOLDER}/first.vhd` } });
    expectProblem(res, 409);
  });

  test('bad requests are problem+json 4xx answers that change nothing', async () => {
    const before = await vaultState();
    const target = `${FOLDER}/bad.vhd`;
    const targetBlob = testBlobService().getContainerClient(RESTORES).getPageBlobClient(target);

    expectProblem(await http.post('/api/restores', '{not json'), 400);
    expectProblem(await http.post('/api/restores', { recoveryPointId: `${DISK_KEY}.20200101T000000000Z`, target: { kind: 'pageBlob', container: RESTORES, blob: target } }), 404);
    expectProblem(await http.post('/api/restores', { recoveryPointId: first, target: { kind: 'pageBlob', container: 'elsewhere', blob: target } }), 403);
    expectProblem(await http.post('/api/restores', { recoveryPointId: first, target: { kind: 'pageBlob', container: container.containerName, blob: target } }), 403);
    expectProblem(await http.post('/api/restores', { recoveryPointId: first, target: { kind: 'floppy', container: RESTORES, blob: target } }), 400);
    expectProblem(await http.post('/api/restores', { recoveryPointId: first, target: { kind: 'pageBlob', container: RESTORES } }), 400);
    expectProblem(await http.post('/api/restores', { recoveryPointId: first, target: { kind: 'managedDisk', resourceGroup: 'rg', name: 'd1' } }), 403);
    expectProblem(await http.post('/api/restores', { recoveryPointId: first, target: { kind: 'managedDisk', resourceGroup: 'rg', name: '-bad' } }), 400);
    expectProblem(await http.post('/api/restores', { recoveryPointId: first, target: { kind: 'pageBlob', container: RESTORES, blob: 'x'.repeat(17 * 1024) } }), 413);
    expectProblem(await http.request('/api/restores/restore-00000000000000000000000000000000'), 404);
    expectProblem(await http.request('/api/restores/nope'), 404);

    expect(await targetBlob.exists()).toBe(false);
    expect(await testBlobService().getContainerClient('elsewhere').getPageBlobClient(target).exists()).toBe(false);
    expect(await vaultState()).toEqual(before);
  });

  test('verify: 202 + status URLs; a sound point is ok; bad ids are 4xx that start nothing', async () => {
    expectProblem(await http.post('/api/recovery-points/nope/verify', {}), 400);
    expectProblem(await http.post(`/api/recovery-points/${DISK_KEY}.20200101T000000000Z/verify`, {}), 404);
    const res = await http.post<Started>(`/api/recovery-points/${second}/verify`, {});
    expect(res.status).toBe(202);
    expect(res.body.id).toMatch(/^verify-[0-9a-f]{32}$/);
    const status = await http.settled<VerifyStatus>(res.body.statusQueryGetUri, WAIT_MS);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toMatchObject({ ok: true, badBlocks: [], badBlockCount: 0 });
  });

  test('a corrupted point: verify names the bad block; a restore of it fails (restore.failed) and leaves no target', async () => {
    // Silent corruption, simulated: flip bytes of block 1 in the vault base, snapshot it, and
    // point the recovery point's manifest at that snapshot (its hashes still describe good data).
    const base = container.getPageBlobClient(vaultPaths.base(DISK_KEY));
    const page = await base.downloadToBuffer(BLOCK_BYTES + 4096, 512);
    for (let i = 100; i < 116; i++) page[i] = page[i]! ^ 0xff;
    await base.uploadPages(page, BLOCK_BYTES + 4096, 512);
    const { snapshot } = await base.createSnapshot();
    const found = await readJson(container, vaultPaths.manifest(DISK_KEY, second), manifestSchema);
    await writeJson(container, vaultPaths.manifest(DISK_KEY, second), { ...found!.value, vault: { ...found!.value.vault, snapshot: snapshot! } }, 'overwrite');

    const res = await http.post<Started>(`/api/recovery-points/${second}/verify`, {});
    const { id: verifyId, statusQueryGetUri } = res.body;
    const verified = await http.settled<VerifyStatus>(statusQueryGetUri, WAIT_MS);
    expect(verified.runtimeStatus).toBe('Completed');
    expect(verified.output).toMatchObject({ ok: false, badBlocks: [1], badBlockCount: 1 });

    const name = `${FOLDER}/corrupt.vhd`;
    const status = await restore(second, name);
    expect(status.runtimeStatus).toBe('Failed');
    expect(await testBlobService().getContainerClient(RESTORES).getPageBlobClient(name).exists()).toBe(false);

    const jobs = await eventually(async () => {
      const list = await http.getJson<JobRecord[]>(`/api/jobs?disk=${DISK_KEY}&status=failed`);
      expect(list.map((j) => j.jobId)).toEqual(expect.arrayContaining([status.id, verifyId]));
      return list;
    });
    const failedRestore = jobs.find((j) => j.jobId === status.id)!;
    expect(failedRestore.kind).toBe('restore');
    expect(failedRestore.error?.code).toBe('INTEGRITY_FAILED');
    expect(failedRestore.events.map((e) => e.type)).toEqual([EVENT_TYPES.restoreStarted, EVENT_TYPES.restoreFailed]);
    expect(jobs.find((j) => j.jobId === verifyId)).toMatchObject({ kind: 'verify', verify: { ok: false, badBlocks: [1] } });
  });
});
