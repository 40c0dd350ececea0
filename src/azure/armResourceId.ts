/**
 * Azure Resource Manager resource ids of managed disks and snapshots:
 * `/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/<disks|snapshots>/<name>`.
 * ARM compares ids case-insensitively; names keep the spelling they were given.
 */
import { errors } from '../errors';

export type ComputeDiskType = 'disks' | 'snapshots';

export interface ComputeResourceId {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly type: ComputeDiskType;
  readonly name: string;
}

const ID = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/(disks|snapshots)\/([^/]+)$/i;

/** Parses a managed disk or snapshot id; anything else is `INVALID_ARGUMENT` naming what was expected. */
export function parseComputeResourceId(id: string, expected?: ComputeDiskType): ComputeResourceId {
  const m = ID.exec(id.trim().replace(/\/+$/, ''));
  const type = m?.[3]?.toLowerCase() as ComputeDiskType | undefined;
  if (!m || !type || (expected && type !== expected)) {
    throw errors.invalidArgument(
      'resource id',
      `'${id}' is not a ${expected === 'snapshots' ? 'snapshot' : 'managed disk'} id (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/${expected ?? 'disks'}/<name>)`,
    );
  }
  return { subscriptionId: m[1] as string, resourceGroup: m[2] as string, type, name: m[4] as string };
}

/** Parses a managed disk id (`…/Microsoft.Compute/disks/<name>`). */
export function parseDiskId(id: string): ComputeResourceId {
  return parseComputeResourceId(id, 'disks');
}

export function formatComputeResourceId(id: Omit<ComputeResourceId, 'type'> & { type: ComputeDiskType }): string {
  return `/subscriptions/${id.subscriptionId}/resourceGroups/${id.resourceGroup}/providers/Microsoft.Compute/${id.type}/${id.name}`;
}

/** Whether two ARM ids name the same resource (ARM ids are case-insensitive). */
export function sameResourceId(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}
