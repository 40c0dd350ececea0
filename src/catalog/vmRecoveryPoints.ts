/**
 * A virtual machine's recovery points: one small document per VM backup that groups the
 * recovery points of its disks (taken together: every disk was snapshotted before any copy
 * began) under one id and one time, `vms/<vmKey>/points/<vmKey>.<time>.json` in the vault
 * container. The disks' points are ordinary recovery points of their own disk keys; a VM point
 * exists while all of its disks' points do (pruneVmRecoveryPoints removes the others).
 */
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { errors, storageCode } from '../errors';
import { deleteBlobIfExists, readJson, writeJson } from '../vault/jsonBlob';
import { VaultDisk } from '../vault/vaultDisk';
import { listRecoveryPointIds } from './recoveryPoints';
import { parseRecoveryPointId, recoveryPointId } from '../vault/vaultLayout';

export const VM_POINT_VERSION = 1;

export const vmRecoveryPointSchema = z.object({
  version: z.literal(VM_POINT_VERSION),
  id: z.string().min(1),
  vmKey: z.string().min(1),
  vmId: z.string().min(1),
  location: z.string(),
  /** The VM backup's time: when it started, before any disk was snapshotted. */
  takenAt: z.string(),
  jobId: z.string().min(1),
  disks: z
    .array(
      z.object({
        role: z.enum(['os', 'data']),
        lun: z.number().int().nonnegative().optional(),
        diskId: z.string().min(1),
        diskKey: z.string().min(1),
        recoveryPointId: z.string().min(1),
      }),
    )
    .min(1),
});
export type VmRecoveryPoint = z.output<typeof vmRecoveryPointSchema>;

export const vmPaths = {
  pointsPrefix: (vmKey: string) => `vms/${vmKey}/points/`,
  point: (vmKey: string, id: string) => `vms/${vmKey}/points/${id}.json`,
};

/** The id of the VM point a backup started at `takenAt` makes. */
export function vmRecoveryPointId(vmKey: string, takenAt: Date): string {
  return recoveryPointId(vmKey, takenAt);
}

/** Writes a VM point (idempotent: the same document again is fine, another one under its id is not). */
export async function writeVmRecoveryPoint(container: ContainerClient, point: VmRecoveryPoint): Promise<void> {
  const existing = await readJson(container, vmPaths.point(point.vmKey, point.id), vmRecoveryPointSchema);
  if (existing) {
    if (existing.value.jobId !== point.jobId) throw errors.alreadyExists('VM recovery point', point.id);
    return;
  }
  await writeJson(container, vmPaths.point(point.vmKey, point.id), point, { ifNoneMatch: '*' });
}

/** A VM point by id, or undefined when there is none (INVALID_ARGUMENT for a malformed id). */
export async function findVmRecoveryPoint(container: ContainerClient, id: string): Promise<VmRecoveryPoint | undefined> {
  const { diskKey: vmKey } = parseRecoveryPointId(id);
  return (await readJson(container, vmPaths.point(vmKey, id), vmRecoveryPointSchema))?.value;
}

/** A VM's points, newest first. */
export async function listVmRecoveryPoints(container: ContainerClient, vmKey: string): Promise<VmRecoveryPoint[]> {
  const out: VmRecoveryPoint[] = [];
  try {
    for await (const item of container.listBlobsFlat({ prefix: vmPaths.pointsPrefix(vmKey) })) {
      if (!item.name.endsWith('.json')) continue;
      const found = await readJson(container, item.name, vmRecoveryPointSchema);
      if (found) out.push(found.value);
    }
  } catch (e) {
    if (storageCode(e) === 'ContainerNotFound') return [];
    throw e;
  }
  return out.sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

/** A VM's newest point, or undefined when it has none: ids sort by time, so this lists names and reads one. */
export async function newestVmRecoveryPoint(container: ContainerClient, vmKey: string): Promise<VmRecoveryPoint | undefined> {
  const prefix = vmPaths.pointsPrefix(vmKey);
  const names: string[] = [];
  try {
    for await (const item of container.listBlobsFlat({ prefix })) if (item.name.endsWith('.json')) names.push(item.name);
  } catch (e) {
    if (storageCode(e) === 'ContainerNotFound') return undefined;
    throw e;
  }
  for (const name of names.sort().reverse()) {
    // A point pruned between the listing and the read is skipped: the next newest counts.
    const found = await readJson(container, name, vmRecoveryPointSchema);
    if (found) return found.value;
  }
  return undefined;
}

/**
 * Removes the VM's points one of whose disk points is gone (pruned by the disk's retention).
 * Each disk's points are listed once (names only), not looked up point by point, so the cost is
 * one listing per disk plus the VM's point documents, however many points each disk keeps.
 */
export async function pruneVmRecoveryPoints(container: ContainerClient, vmKey: string): Promise<string[]> {
  const removed: string[] = [];
  const listings = new Map<string, Promise<Set<string>>>();
  const pointsOf = (diskKey: string): Promise<Set<string>> => {
    let listing = listings.get(diskKey);
    if (!listing) {
      listing = listRecoveryPointIds(new VaultDisk(container, diskKey)).then((ids) => new Set(ids));
      listings.set(diskKey, listing);
    }
    return listing;
  };
  for (const point of await listVmRecoveryPoints(container, vmKey)) {
    let complete = true;
    for (const disk of point.disks) {
      if (!(await pointsOf(disk.diskKey)).has(disk.recoveryPointId)) {
        complete = false;
        break;
      }
    }
    if (!complete) {
      await deleteBlobIfExists(container, vmPaths.point(vmKey, point.id));
      removed.push(point.id);
    }
  }
  return removed;
}
