/**
 * What failed or abandoned jobs leave behind — a vault snapshot and a hash list whose seal never
 * wrote its manifest, the folder of a job that never sealed, sealed markers of jobs long done —
 * is collected once it is older than the grace period, and nothing a recovery point needs is.
 */
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { RECOVERY_POINT_METADATA_KEY, recoveryPointId, vaultPaths } from '../../src/vault/vaultLayout';
import { writeJson } from '../../src/vault/jsonBlob';
import { readChain } from '../../src/vault/chainState';
import { runBackup } from '../../src/backup/runBackup';
import { listRecoveryPoints } from '../../src/catalog/recoveryPoints';
import { ORPHAN_GRACE_MS, collectOrphans } from '../../src/catalog/orphans';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { writePattern } from '../support/diskData';
import { freshContainer, readWhole } from '../support/storage';

const MiB = 1024 * 1024;

test('orphans older than the grace period are collected; recovery points, their snapshots and the chain stay', async () => {
  const container = await freshContainer('orphans');
  const disk = container.getPageBlobClient('source/os.vhd');
  await disk.create(8 * MiB);
  const source = new PageBlobSource(container, disk);
  const vault = new VaultDisk(container, 'os');
  const expected = new Map<string, Buffer>();
  for (const jobId of ['job-1', 'job-2']) {
    await writePattern(disk, jobId === 'job-1' ? 0 : 3 * MiB, MiB, (at) => `${jobId}@${at}`);
    const { recoveryPoint } = await runBackup(source, vault, jobId);
    expected.set(recoveryPoint.id, await readWhole(disk.withSnapshot((await source.findSnapshot(jobId))!.id)));
  }
  const head = (await readChain(container, 'os')).state.head?.recoveryPointId;

  // A seal that failed after its vault snapshot and hash list, and a job that never sealed.
  const lost = recoveryPointId('os', new Date('2026-01-02T03:04:05.006Z'));
  await vault.base.createSnapshot({ metadata: { [RECOVERY_POINT_METADATA_KEY]: lost } });
  await container.getBlockBlobClient(vaultPaths.blockHashes('os', lost)).upload('not a real list', 15);
  for (const name of [vaultPaths.chunk('os', 'job-x', 0), vaultPaths.chunkDone('os', 'job-x', 0), vaultPaths.plan('os', 'job-x')]) {
    await writeJson(container, name, { dead: true }, 'overwrite');
  }
  const snapshotsOfBase = async (): Promise<number> => {
    let n = 0;
    for await (const snapshot of vault.baseSnapshots()) {
      void snapshot;
      n++;
    }
    return n;
  };
  expect(await snapshotsOfBase()).toBe(3);

  // Young: nothing goes.
  expect(await collectOrphans(vault, new Date())).toEqual({ vaultSnapshots: 0, hashLists: 0, jobDocuments: 0 });

  // A day later: the orphan snapshot and list, job-x's three documents and both sealed markers.
  const later = new Date(Date.now() + ORPHAN_GRACE_MS + 60_000);
  expect(await collectOrphans(vault, later)).toEqual({ vaultSnapshots: 1, hashLists: 1, jobDocuments: 5 });
  expect(await snapshotsOfBase()).toBe(2);
  const left: string[] = [];
  for await (const item of container.listBlobsFlat({ prefix: 'disks/os/jobs/' })) left.push(item.name);
  expect(left).toEqual([]);

  // Every recovery point is still listed and restores to its source snapshot; the chain is as it was.
  const points = await listRecoveryPoints(vault);
  expect(points.map((p) => p.id).sort()).toEqual([...expected.keys()].sort());
  for (const point of points) {
    const target = container.getPageBlobClient(`restores/${point.id}.vhd`);
    await restoreToPageBlob(container, point.id, target, `restore-${point.id}`);
    expect((await readWhole(target)).equals(expected.get(point.id)!)).toBe(true);
  }
  expect((await readChain(container, 'os')).state.head?.recoveryPointId).toBe(head);
  // And again: nothing left to collect.
  expect(await collectOrphans(vault, later)).toEqual({ vaultSnapshots: 0, hashLists: 0, jobDocuments: 0 });
  await container.delete();
}, 60_000);
