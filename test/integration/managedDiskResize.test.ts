/**
 * After a resize across 4 TiB no diff exists between the snapshots before and after (Azure's
 * rule; the ARM test server's storage proxy refuses such a diff with 409
 * PreviousSnapshotOperationNotSupported). The managed-disk source reports DIFF_UNAVAILABLE, and
 * planBackup falls back to a full copy by itself: the base is rewritten, the new point restores
 * to the resized disk's bytes, and the earlier points still restore as they were.
 */
import { collectDiff } from '../../src/disks/diskSource';
import { AnonymousCredential, PageBlobClient, type ContainerClient } from '@azure/storage-blob';
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { managedSource, smallManagedDisk } from '../support/managedDisks';
import { writePattern } from '../support/diskData';
import { freshContainer, readWhole } from '../support/storage';
import { findSecrets } from '../support/secretScan';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { runBackup } from '../../src/backup/runBackup';
import { readRecoveryPoint } from '../../src/catalog/recoveryPoints';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { verifyPageBlob } from '../../src/restore/verifyRecoveryPoint';
import { listAllocatedRanges } from '../../src/util/pageBlobRanges';
import type { ByteRange } from '../../src/ranges/byteRange';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
const RG = 'rg-resize';
let server: ArmTestServer;
const captured: string[] = [];

beforeAll(async () => {
  server = await startArmServer();
});
afterEach(() => expect(server.activeGrants()).toEqual([]));
afterAll(async () => {
  expect(findSecrets(captured.join('\n'), [server.storageAccountKey])).toEqual([]);
  await server.close();
});

async function bytesOf(blob: PageBlobClient, ranges: ByteRange[]): Promise<Buffer> {
  return Buffer.concat(await Promise.all(ranges.map((r) => blob.downloadToBuffer(r.start, r.end - r.start))));
}

async function restoreAndCompare(container: ContainerClient, pointId: string, sourceBlob: PageBlobClient, whole: boolean): Promise<void> {
  const target = container.getPageBlobClient(`restored/${pointId}.vhd`);
  await restoreToPageBlob(container, pointId, target, `restore-${pointId.replace(/[^A-Za-z0-9]/g, '')}`);
  const manifest = await readRecoveryPoint(container, pointId);
  expect((await target.getProperties()).contentLength).toBe(manifest.sizeBytes);
  if (whole) {
    expect((await readWhole(target)).equals(await readWhole(sourceBlob))).toBe(true);
  } else {
    // A disk over 4 TiB is compared where it holds data (everything else reads as zeros on both).
    const want = await listAllocatedRanges(sourceBlob);
    expect(await listAllocatedRanges(target)).toEqual(want);
    expect((await bytesOf(target, want)).equals(await bytesOf(sourceBlob, want))).toBe(true);
  }
  expect(await verifyPageBlob(container, manifest, target)).toMatchObject({ ok: true, badBlocks: [] });
}

test('a disk resized from 20 MiB to over 4 TiB: the diff is refused, the next backup is a full copy, every point restores', async () => {
  const diskId = await smallManagedDisk(server, RG, 'grows');
  const disk = server.dataOf(diskId);
  const source = managedSource(server, diskId);
  const container = await freshContainer('md-resize');
  const vault = new VaultDisk(container, 'grows');

  await writePattern(disk, 0, 3 * MiB, (at) => at + 5);
  const first = await runBackup(source, vault, 'before-1');
  await writePattern(disk, 8 * MiB, MiB, (at) => at + 6);
  await disk.clearPages(0, MiB);
  const second = await runBackup(source, vault, 'before-2');
  expect(second.plan.mode).toBe('incremental');
  const firstSnap = (await source.findSnapshot('before-1'))!;
  const secondSnap = (await source.findSnapshot('before-2'))!;

  // The VM's disk grows past 4 TiB; new data lands beyond the old end and past 4 TiB.
  await server.client().disks.beginUpdateAndWait(RG, 'grows', { diskSizeGB: 4097 }, server.fastPolling);
  await writePattern(disk, 4 * TiB + 16 * MiB, 2 * MiB, (at) => at + 7);
  await writePattern(disk, 2 * MiB, MiB, (at) => at + 8);

  const third = await runBackup(source, vault, 'after');
  captured.push(JSON.stringify(third));
  expect(third.plan.mode).toBe('full');
  const manifest = await readRecoveryPoint(container, third.recoveryPoint.id);
  expect(manifest).toMatchObject({ mode: 'full', previousRecoveryPointId: null, sizeBytes: 4097 * GiB + 512 });
  const thirdSnap = (await source.findSnapshot('after'))!;
  expect(thirdSnap.sizeBytes).toBe(4097 * GiB + 512);

  // The source refuses the diff itself, before asking storage.
  const refused = await collectDiff(source.changedRangePages(secondSnap.id, thirdSnap.id)).catch((e: unknown) => e);
  captured.push(String(refused), JSON.stringify(refused));
  expect(refused).toMatchObject({ code: 'DIFF_UNAVAILABLE', status: 409 });
  expect((refused as Error).message).toMatch(/resized across 4 TiB/);
  // And the storage behind the access URLs refuses it too, as Azure does.
  const trusting = managedSource(server, diskId, { diffSizeBoundaryBytes: Number.POSITIVE_INFINITY });
  const before = server.storage.refusedDiffs();
  const answered = await collectDiff(trusting.changedRangePages(secondSnap.id, thirdSnap.id)).catch((e: unknown) => e);
  captured.push(String(answered), JSON.stringify(answered));
  expect(answered).toMatchObject({ code: 'DIFF_UNAVAILABLE' });
  expect((answered as Error).message).toMatch(/PreviousSnapshotOperationNotSupported/);
  expect(server.storage.refusedDiffs()).toBeGreaterThan(before);

  // Every point restores: the two before the resize whole, the one after where it holds data.
  await restoreAndCompare(container, first.recoveryPoint.id, server.dataOf(firstSnap.id), true);
  await restoreAndCompare(container, second.recoveryPoint.id, server.dataOf(secondSnap.id), true);
  await restoreAndCompare(container, third.recoveryPoint.id, server.dataOf(thirdSnap.id), false);

  // Snapshots on the same side of the boundary diff again: the next backup is incremental.
  await writePattern(disk, 4 * TiB + 64 * MiB, MiB, (at) => at + 9);
  const fourth = await runBackup(source, vault, 'after-2');
  expect(fourth.plan.mode).toBe('incremental');
  await restoreAndCompare(container, fourth.recoveryPoint.id, server.dataOf((await source.findSnapshot('after-2'))!.id), false);
}, 180_000);

test('the storage proxy answers a diff across the boundary with 409 PreviousSnapshotOperationNotSupported', async () => {
  const diskId = await smallManagedDisk(server, RG, 'raw');
  const client = server.client();
  const snap = async (name: string): Promise<string> =>
    (await client.snapshots.beginCreateOrUpdateAndWait(RG, name, { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } }, server.fastPolling)).id!;
  const a = await snap('raw-a');
  await client.disks.beginUpdateAndWait(RG, 'raw', { diskSizeGB: 4100 }, server.fastPolling);
  await snap('raw-b');
  const ga = await client.snapshots.beginGrantAccessAndWait(RG, 'raw-a', { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  const gb = await client.snapshots.beginGrantAccessAndWait(RG, 'raw-b', { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  try {
    expect(ga.accessSAS!.startsWith(server.storage.origin)).toBe(true);
    const b = new PageBlobClient(gb.accessSAS!, new AnonymousCredential(), { retryOptions: { maxTries: 1 } });
    const e = await b.getPageRangesDiffForManagedDisks(0, 4 * MiB, ga.accessSAS!).catch((x: unknown) => x);
    expect(e).toMatchObject({ statusCode: 409, code: 'PreviousSnapshotOperationNotSupported' });
    // Azurite's own answers pass through: the Server header still names it.
    expect((await b.getProperties())._response.headers.get('server')).toMatch(/azurite/i);
    expect(a).toMatch(/raw-a$/);
  } finally {
    await client.snapshots.beginRevokeAccessAndWait(RG, 'raw-a', server.fastPolling);
    await client.snapshots.beginRevokeAccessAndWait(RG, 'raw-b', server.fastPolling);
  }
});
