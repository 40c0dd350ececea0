/**
 * A disk that grows or shrinks between backups: the block that ends at the smaller size
 * changes length, so its hash is recomputed even when the exact diff reports no change.
 * (Azurite's superset diff would hide this: it marks every allocated block changed, so the
 * test uses a source whose diff is exact — nothing was written, so nothing is reported.)
 */
import { onePage, type DiskSource, type RangeDiff } from '../../src/disks/diskSource';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { overrideSource } from '../../src/disks/overrideSource';
import { runBackup } from '../../src/backup/runBackup';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { verifyRecoveryPoint } from '../../src/restore/verifyRecoveryPoint';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { freshContainer, readWhole } from '../support/storage';

const MiB = 1024 * 1024;

/** The real page-blob source, with the exact diff Azure would give for a disk nobody wrote to. */
function exactNoWrites(inner: PageBlobSource): DiskSource {
  return overrideSource(inner, {
    diffFidelity: async () => 'exact',
    changedRangePages: () => onePage(async (): Promise<RangeDiff> => ({ changed: [], cleared: [] })),
  });
}

test.each([
  ['grows', 6 * MiB, 8 * MiB],
  ['shrinks', 8 * MiB, 6 * MiB],
])('a disk that %s keeps correct block hashes', async (_name, before, after) => {
  const container = await freshContainer('resize');
  const blob = container.getPageBlobClient('disk.vhd');
  await blob.create(before);
  await blob.uploadPages(Buffer.alloc(512, 7), 5 * MiB, 512); // one page in block 1
  const source = new PageBlobSource(container, blob, { diffFidelity: 'exact' });
  const vault = new VaultDisk(container, 'resized');
  await runBackup(source, vault, 'job-1');

  await blob.resize(after);
  const second = await runBackup(exactNoWrites(source), vault, 'job-2');
  expect(second.plan.mode).toBe('incremental');
  expect(await verifyRecoveryPoint(container, second.recoveryPoint.id)).toMatchObject({ ok: true, badBlocks: [] });

  const target = container.getPageBlobClient('restored.vhd');
  await restoreToPageBlob(container, second.recoveryPoint.id, target, 'restore-resized');
  const snapshot = await source.findSnapshot('job-2');
  expect((await readWhole(target)).equals(await readWhole(blob.withSnapshot(snapshot!.id)))).toBe(true);
  await container.delete();
});
