/**
 * Prune applies retention to the points it can read and leaves a point whose manifest it cannot
 * read exactly as it is: one damaged manifest neither blocks the disk's prune nor gets deleted.
 */
import { randomBytes } from 'node:crypto';
import type { Settings } from '../../src/config/settings';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { vaultPaths } from '../../src/vault/vaultLayout';
import { runBackup } from '../../src/backup/runBackup';
import { listRecoveryPointsChecked } from '../../src/catalog/recoveryPoints';
import { backupActivities } from '../../src/workflows/activities';
import { writePattern } from '../support/diskData';
import { testQueue } from '../support/devhost';
import { freshContainer, testBlobService } from '../support/storage';

const MiB = 1024 * 1024;

test('keepLast 1 over three points, the middle one unreadable: the oldest goes, the middle stays', async () => {
  const container = await freshContainer('prune-unreadable');
  const queue = testQueue(`prune-${randomBytes(4).toString('hex')}`);
  await queue.create();
  const disk = container.getPageBlobClient('source/os.vhd');
  await disk.create(4 * MiB);
  const source = new PageBlobSource(container, disk);
  const vault = new VaultDisk(container, 'os');
  const ids: string[] = [];
  for (const jobId of ['j1', 'j2', 'j3']) {
    await writePattern(disk, 0, 4096, (at) => `${jobId}@${at}`);
    ids.push((await runBackup(source, vault, jobId)).recoveryPoint.id);
  }
  const damaged = vaultPaths.manifest('os', ids[1]!);
  await container.getBlockBlobClient(damaged).upload('{"version": 99}', 15);

  const activities = backupActivities({
    // Prune reads no setting: the source comes from sourceFor, events go to the queue given.
    settings: {} as Settings,
    config: () => Promise.reject(new Error('prune needs no config here')),
    blobService: testBlobService(),
    vaultContainer: container,
    eventsQueue: queue,
    sourceFor: async () => source,
  });
  const out = await activities.prune({ diskKey: 'os', jobId: 'j3', retention: { keepLast: 1 }, now: new Date().toISOString() });
  expect(out.deleted).toEqual([ids[0]]);
  const after = await listRecoveryPointsChecked(vault);
  expect(after.points.map((p) => p.id)).toEqual([ids[2]]);
  expect(after.unreadable.map((p) => p.id)).toEqual([ids[1]]);
  expect(await container.getBlockBlobClient(damaged).exists()).toBe(true);
  await Promise.allSettled([queue.delete(), container.delete()]);
}, 60_000);
