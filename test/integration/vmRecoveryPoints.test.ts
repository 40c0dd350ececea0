/**
 * A VM's recovery point lives while every disk point it groups does: pruning a VM removes the
 * VM points one of whose disk points the disks' own retention deleted, wherever they are in
 * time, and keeps the rest.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { runBackup } from '../../src/backup/runBackup';
import { deleteRecoveryPoint, listRecoveryPointIds } from '../../src/catalog/recoveryPoints';
import { VM_POINT_VERSION, listVmRecoveryPoints, pruneVmRecoveryPoints, vmRecoveryPointId, writeVmRecoveryPoint } from '../../src/catalog/vmRecoveryPoints';
import { writePattern } from '../support/diskData';
import { freshContainer } from '../support/storage';

const MiB = 1024 * 1024;

/** Backs up two disks three times; each round becomes one VM point over both disks' points. */
async function vmWithThreePoints(container: ContainerClient): Promise<{ vmPoints: string[]; diskPoints: Record<string, string[]> }> {
  const disks = ['vm1-os', 'vm1-lun0'];
  const diskPoints: Record<string, string[]> = Object.fromEntries(disks.map((d) => [d, []]));
  const vmPoints: string[] = [];
  for (let round = 0; round < 3; round++) {
    const takenAt = new Date(Date.UTC(2026, 10, 20 + round));
    const points = [];
    for (const diskKey of disks) {
      const blob = container.getPageBlobClient(`source/${diskKey}.vhd`);
      if (round === 0) await blob.create(4 * MiB);
      await writePattern(blob, round * MiB, 64 * 1024, (at) => `${diskKey}-${round}@${at}`);
      const { recoveryPoint } = await runBackup(new PageBlobSource(container, blob), new VaultDisk(container, diskKey), `job-${round}-${diskKey}`);
      diskPoints[diskKey]!.push(recoveryPoint.id);
      points.push({ role: diskKey.endsWith('os') ? ('os' as const) : ('data' as const), ...(diskKey.endsWith('os') ? {} : { lun: 0 }), diskId: `/disks/${diskKey}`, diskKey, recoveryPointId: recoveryPoint.id });
    }
    const id = vmRecoveryPointId('vm1', takenAt);
    await writeVmRecoveryPoint(container, { version: VM_POINT_VERSION, id, vmKey: 'vm1', vmId: '/vms/vm1', location: 'westeurope', takenAt: takenAt.toISOString(), jobId: `vmjob-${round}`, disks: points });
    vmPoints.push(id);
  }
  return { vmPoints, diskPoints };
}

test('pruning removes exactly the VM points that lost a disk point, in the middle of the chain too', async () => {
  const container = await freshContainer('vmpoints');
  const { vmPoints, diskPoints } = await vmWithThreePoints(container);
  expect(await pruneVmRecoveryPoints(container, 'vm1')).toEqual([]);

  // The data disk's retention drops its middle point (a daily between kept weeklies, say).
  const lost = diskPoints['vm1-lun0']![1]!;
  await deleteRecoveryPoint(container, lost);
  expect((await listRecoveryPointIds(new VaultDisk(container, 'vm1-lun0'))).sort()).toEqual([diskPoints['vm1-lun0']![0], diskPoints['vm1-lun0']![2]].sort());

  expect(await pruneVmRecoveryPoints(container, 'vm1')).toEqual([vmPoints[1]]);
  expect((await listVmRecoveryPoints(container, 'vm1')).map((p) => p.id)).toEqual([vmPoints[2], vmPoints[0]]);
  // Again: nothing more to remove.
  expect(await pruneVmRecoveryPoints(container, 'vm1')).toEqual([]);
  await container.delete();
}, 60_000);
