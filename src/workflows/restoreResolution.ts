/**
 * Resolving a `POST /api/restores` request for managed disks before anything starts: which
 * recovery point (a disk's, or a VM's that restores every disk), which subscription and region,
 * which new disk names, and whether each target is free. Subscription and region default to the
 * recovery point's source (a VM point records its region; a disk point's source disk is asked,
 * when it still exists); anything that cannot be found out is a 400 asking for it.
 */
import { computeClient, type ArmAccess } from '../azure/armAccess';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { findVmRecoveryPoint, type VmRecoveryPoint } from '../catalog/vmRecoveryPoints';
import { parseDiskSource } from '../config/protectionConfig';
import { errors, isDeltavaultError } from '../errors';
import { getDisk } from '../restore/managedDiskArm';
import { managedDiskId } from '../restore/managedDiskTarget';
import type { Manifest } from '../vault/manifest';
import type { ManagedDiskTargetInput, RestoreTargetRequest } from './inputs';

export type RestorePoint = { kind: 'disk'; manifest: Manifest } | { kind: 'vm'; point: VmRecoveryPoint };

/** A disk point, else a VM point of that id; NOT_FOUND when neither exists. */
export async function findRestorePoint(vaultContainer: Parameters<typeof readRecoveryPoint>[0], id: string): Promise<RestorePoint> {
  try {
    return { kind: 'disk', manifest: await readRecoveryPoint(vaultContainer, id) };
  } catch (e) {
    if (!isDeltavaultError(e, 'NOT_FOUND')) throw e;
  }
  const point = await findVmRecoveryPoint(vaultContainer, id);
  if (!point) throw errors.notFound('recovery point', id);
  return { kind: 'vm', point };
}

/** The managed disk a disk point was taken from (its manifest's source), when it was one. */
export function sourceDiskIdOf(manifest: Manifest): string | undefined {
  if (manifest.source.kind !== 'managedDisk') return undefined;
  const id = /^managed disk (\/subscriptions\/\S+)$/.exec(manifest.source.description)?.[1];
  return id && parseDiskSource(id)?.kind === 'managedDisk' ? id : undefined;
}

export interface ResolvedDiskTarget {
  recoveryPointId: string;
  target: ManagedDiskTargetInput;
}

type ManagedDiskRequest = Extract<RestoreTargetRequest, { kind: 'managedDisk' }>;

/** The new disk's name for each disk of a VM point: `<name>-os`, `<name>-lun<N>`. */
export function vmDiskName(prefix: string, disk: VmRecoveryPoint['disks'][number]): string {
  return `${prefix}-${disk.role === 'os' ? 'os' : `lun${disk.lun ?? 0}`}`;
}

export async function resolveManagedDiskTargets(access: ArmAccess, point: RestorePoint, request: ManagedDiskRequest): Promise<ResolvedDiskTarget[]> {
  const sourceId = point.kind === 'vm' ? point.point.vmId : sourceDiskIdOf(point.manifest);
  const source = sourceId ? parseDiskSource(sourceId) : undefined;
  const subscriptionId = (request.subscriptionId ?? (source && source.kind !== 'pageBlob' ? source.subscriptionId : undefined))?.toLowerCase();
  if (!subscriptionId) {
    throw errors.invalidArgument('target.subscriptionId', 'is needed: the recovery point was not taken from a managed disk, so there is no source subscription to default to');
  }
  let location = request.location ?? (point.kind === 'vm' ? point.point.location : undefined);
  if (!location && source?.kind === 'managedDisk') {
    location = (await findDisk(access, source.subscriptionId, source.resourceGroup, source.diskName))?.location;
  }
  if (!location) throw errors.invalidArgument('target.location', 'is needed: the source disk no longer exists, so its region is unknown; give the region, e.g. "westeurope"');
  const base = {
    kind: 'managedDisk' as const,
    subscriptionId,
    resourceGroup: request.resourceGroup,
    location,
    ...(request.sku ? { sku: request.sku } : {}),
    ...(request.zone ? { zone: request.zone } : {}),
  };
  const targets =
    point.kind === 'disk'
      ? [{ recoveryPointId: point.manifest.id, target: { ...base, name: request.name } }]
      : point.point.disks.map((d) => ({ recoveryPointId: d.recoveryPointId, target: { ...base, name: vmDiskName(request.name, d) } }));
  for (const t of targets) {
    if (t.target.name.length > 80) throw errors.invalidArgument('target.name', `makes the disk name '${t.target.name}', longer than 80 characters`);
  }
  return targets;
}

/** A managed disk, or undefined when there is none of that name (managedDiskArm.getDisk: retried, errors name the disk). */
function findDisk(access: ArmAccess, subscriptionId: string, resourceGroup: string, name: string): ReturnType<typeof getDisk> {
  const id = managedDiskId({ subscriptionId, resourceGroup, name });
  return getDisk({ client: computeClient(access, subscriptionId), resourceGroup, name, id, retryDelayMs: 1000 });
}

/** Whether a managed disk of that name exists already (then a restore into it is refused). */
export async function managedDiskExists(access: ArmAccess, target: ManagedDiskTargetInput): Promise<boolean> {
  return (await findDisk(access, target.subscriptionId, target.resourceGroup, target.name)) !== undefined;
}
