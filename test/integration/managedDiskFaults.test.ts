/**
 * Issue 5, acceptance 3 at the source level: faults from the ARM test server (a failed snapshot
 * LRO, 429 with Retry-After, 500 while polling a grant, a failing revoke) are retried where that
 * is safe and otherwise end in a clear DeltavaultError naming the operation and the resource;
 * after every test no access stays granted; a failure mid-backup loses no earlier recovery
 * point. Everything the tests capture (errors as text, JSON and inspected, returned values) is
 * scanned for SAS signatures and account keys.
 */
import { collectRanges } from '../../src/disks/diskSource';
import { inspect } from 'node:util';
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { managedSource, smallManagedDisk } from '../support/managedDisks';
import { writePattern } from '../support/diskData';
import { freshContainer, readWhole } from '../support/storage';
import { findSecrets } from '../support/secretScan';
import { DeltavaultError } from '../../src/errors';
import { overrideSource } from '../../src/disks/overrideSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { runBackup } from '../../src/backup/runBackup';
import { abandonBackup } from '../../src/backup/abandonBackup';
import { listRecoveryPoints } from '../../src/catalog/recoveryPoints';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';

const MiB = 1024 * 1024;
const RG = 'rg-faults';
let server: ArmTestServer;
const captured: string[] = [];

function capture(value: unknown): void {
  captured.push(typeof value === 'string' ? value : JSON.stringify(value) ?? String(value));
  if (value instanceof Error) captured.push(String(value), value.stack ?? '', inspect(value, { depth: 5 }));
}

async function failureOf(p: Promise<unknown>): Promise<DeltavaultError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  capture(e);
  expect(e).toBeInstanceOf(DeltavaultError);
  return e as DeltavaultError;
}

beforeAll(async () => {
  // Failed attempts count against Azure's 7 incremental snapshots per 5 minutes; this file makes more.
  server = await startArmServer({ limits: { incrementalSnapshotsPerWindow: 100 } });
});
afterEach(() => {
  server.faults.clear();
  expect(server.activeGrants()).toEqual([]);
});
afterAll(async () => {
  expect(findSecrets(captured.join('\n'), [server.storageAccountKey])).toEqual([]);
  await server.close();
});

const initial = (op: string): number => server.records.requests().filter((r) => r.operation === op && r.phase === 'initial').length;

test('a failed snapshot LRO is retried after deleting the failed snapshot; one that keeps failing is a clear error', async () => {
  const diskId = await smallManagedDisk(server, RG, 'lro');
  const source = managedSource(server, diskId);
  server.faults.add({ kind: 'lroFailed', operation: 'snapshots.createOrUpdate', code: 'InternalDiskManagementError', message: 'The snapshot could not be taken.' });
  const [creates, deletes] = [initial('snapshots.createOrUpdate'), initial('snapshots.delete')];
  const made = await source.createSnapshot('job-lro');
  capture(made);
  expect(initial('snapshots.createOrUpdate') - creates).toBe(2);
  expect(initial('snapshots.delete') - deletes).toBe(1);
  expect((await source.listSnapshots()).map((s) => s.id)).toEqual([made.id]);

  server.faults.add({ kind: 'lroFailed', operation: 'snapshots.createOrUpdate', code: 'InternalDiskManagementError', message: 'The snapshot could not be taken.', times: 10 });
  const e = await failureOf(source.createSnapshot('job-lro-2'));
  expect(e.code).toBe('STORAGE_FAILED');
  expect(e.message).toMatch(/^creating incremental snapshot of '\/subscriptions\/.*\/snapshots\/dv-lro-job-lro-2-[0-9a-f]{12}' failed: InternalDiskManagementError: the operation ended Failed: The snapshot could not be taken\./);
  expect(e.message).toContain('The snapshot could not be taken.');
  // A failed snapshot is never offered as a snapshot of the disk.
  expect(await source.findSnapshot('job-lro-2')).toBeUndefined();
  // The next attempt (a retried activity) deletes it and succeeds.
  server.faults.clear();
  expect((await source.createSnapshot('job-lro-2')).jobId).toBe('job-lro-2');
});

test('a permanent ARM answer is not retried: the incremental-snapshot limit is a clear error at once', async () => {
  const limited = await startArmServer({ limits: { incrementalSnapshotsPerWindow: 1 } });
  try {
    const diskId = await smallManagedDisk(limited, RG, 'limit');
    const source = managedSource(limited, diskId);
    await source.createSnapshot('one');
    const before = limited.records.requests().filter((r) => r.operation === 'snapshots.createOrUpdate').length;
    const e = await failureOf(source.createSnapshot('two'));
    expect(e.message).toMatch(/creating incremental snapshot of .* failed: OperationNotAllowed \(HTTP 409\): At most 1 incremental snapshots/);
    expect(limited.records.requests().filter((r) => r.operation === 'snapshots.createOrUpdate').length - before).toBe(1);
  } finally {
    await limited.close();
  }
});

test('429 with Retry-After on a grant is waited out by the client', async () => {
  const diskId = await smallManagedDisk(server, RG, 'throttle');
  const source = managedSource(server, diskId);
  await server.dataOf(diskId).uploadPages(Buffer.alloc(MiB, 7), 0, MiB);
  const snap = await source.createSnapshot('t');
  server.faults.add({ kind: 'throttle', operation: 'snapshots.grantAccess', retryAfterSeconds: 1 });
  const started = Date.now();
  const ranges = await collectRanges(source.allocatedRangePages(snap.id));
  capture(ranges);
  expect(ranges).toEqual([{ start: 0, end: MiB }]);
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  expect(server.records.requests().some((r) => r.operation === 'snapshots.grantAccess' && r.status === 429)).toBe(true);
});

test('500s while polling a grant: retried by the client, then by the source; beyond that a clear error, and the grant made meanwhile is revoked', async () => {
  const diskId = await smallManagedDisk(server, RG, 'poll500');
  const source = managedSource(server, diskId);
  const snap = await source.createSnapshot('p');
  // More 500s than the client's own retries: the source grants again and succeeds.
  server.faults.add({ kind: 'serverError', operation: 'snapshots.grantAccess', phase: 'poll', times: 5 });
  const grantsBefore = initial('snapshots.grantAccess');
  capture(await collectRanges(source.allocatedRangePages(snap.id)));
  expect(initial('snapshots.grantAccess') - grantsBefore).toBe(2);

  server.faults.add({ kind: 'serverError', operation: 'snapshots.grantAccess', phase: 'poll', times: 1000 });
  const e = await failureOf(collectRanges(source.allocatedRangePages(snap.id)));
  expect(e.code).toBe('STORAGE_FAILED');
  expect(e.message).toMatch(/^granting read access of '.*\/snapshots\/dv-poll500-p-[0-9a-f]{12}' failed: InternalServerError \(HTTP 500\)/);
  // The server granted each time; the client never heard. Every one of them was revoked.
  const grants = server.records.grants().filter((g) => g.resourceId === snap.id);
  expect(grants.length).toBeGreaterThanOrEqual(5);
  expect(grants.every((g) => g.endReason === 'revoked')).toBe(true);
});

test('a revoke that fails is retried until it succeeds', async () => {
  const diskId = await smallManagedDisk(server, RG, 'revoke');
  const source = managedSource(server, diskId);
  const snap = await source.createSnapshot('r');
  server.faults.add({ kind: 'serverError', operation: 'snapshots.revokeAccess', times: 6 });
  capture(await collectRanges(source.allocatedRangePages(snap.id)));
  expect(server.records.requests().filter((r) => r.operation === 'snapshots.revokeAccess' && r.status === 500)).toHaveLength(6);
});

test('a failure mid-backup (no read access during the copy) loses no earlier recovery point; the next job succeeds', async () => {
  const diskId = await smallManagedDisk(server, RG, 'midway');
  const disk = server.dataOf(diskId);
  const source = managedSource(server, diskId);
  const container = await freshContainer('md-faults');
  const vault = new VaultDisk(container, 'midway');
  await writePattern(disk, 0, 3 * MiB, (at) => at + 1);
  const first = await runBackup(source, vault, 'job-a');
  const firstBytes = await readWhole(server.dataOf((await source.findSnapshot('job-a'))!.id));

  await writePattern(disk, MiB, 2 * MiB, (at) => at + 99);
  const failing = overrideSource(source, {
    openReader: (id) => {
      server.faults.add({ kind: 'lroFailed', operation: 'snapshots.grantAccess', code: 'OperationPreempted', message: 'Preempted.', times: 100 });
      return source.openReader(id);
    },
  });
  const e = await failureOf(runBackup(failing, vault, 'job-b'));
  expect(e.message).toMatch(/granting read access of '.*' failed: OperationPreempted \(HTTP 500\)/);
  server.faults.clear();
  expect(server.activeGrants()).toEqual([]);
  await abandonBackup(vault, 'job-b');

  expect((await listRecoveryPoints(vault)).map((p) => p.id)).toEqual([first.recoveryPoint.id]);
  const restored = container.getPageBlobClient('restored-a.vhd');
  await restoreToPageBlob(container, first.recoveryPoint.id, restored, 'restore-a');
  expect((await readWhole(restored)).equals(firstBytes)).toBe(true);

  const next = await runBackup(source, vault, 'job-c');
  capture(next);
  const again = container.getPageBlobClient('restored-c.vhd');
  await restoreToPageBlob(container, next.recoveryPoint.id, again, 'restore-c');
  expect((await readWhole(again)).equals(await readWhole(server.dataOf((await source.findSnapshot('job-c'))!.id)))).toBe(true);
});
