/**
 * The managed disk a restore creates: its target as given (subscription, group, name, region,
 * SKU…), checked before any ARM call; its resource id; the tags that mark it as a restore's
 * (which restore, which point, whether verified), read case-insensitively as ARM names them;
 * and how long a grant on it must last to move a given number of bytes.
 */
import type { Disk } from '@azure/arm-compute';
import { computeClient, type ArmAccess } from '../azure/armAccess';
import { errors } from '../errors';
import type { TargetDiskRef } from './managedDiskArm';

export const RESTORE_TAG = 'deltavault-restore';
export const RESTORE_POINT_TAG = 'deltavault-recovery-point';
export const RESTORE_STATE_TAG = 'deltavault-restore-state';

export interface ManagedDiskTarget {
  subscriptionId: string;
  resourceGroup: string;
  /** The new disk's name (1-80 letters, digits, `_`, `.`, `-`). */
  name: string;
  location: string;
  /** Disk SKU, e.g. `Premium_LRS` (Azure's default when absent: Standard_LRS). */
  sku?: string;
  /** Availability zone, e.g. `1`. */
  zone?: string;
  /** Tags of the new disk, besides deltavault's own. */
  tags?: Record<string, string>;
  /** For a disk that will boot a VM. */
  osType?: 'Windows' | 'Linux';
  hyperVGeneration?: 'V1' | 'V2';
}

const DISK_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/;
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;
const SUBSCRIPTION = /^[0-9a-fA-F-]{1,64}$/;
/** A grant lasts long enough to move its bytes at this pessimistic rate, plus five minutes. */
const ASSUMED_BYTES_PER_SECOND = 8 * 1024 * 1024;
const GRANT_BASE_SECONDS = 300;
const GRANT_MAX_SECONDS = 24 * 3600;

/** How long to ask for access to move `bytes`: the shortest time that is still safe. */
export function grantSecondsFor(bytes: number): number {
  return Math.min(GRANT_MAX_SECONDS, GRANT_BASE_SECONDS + Math.ceil(bytes / ASSUMED_BYTES_PER_SECOND));
}

export function managedDiskId(target: Pick<ManagedDiskTarget, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}/providers/Microsoft.Compute/disks/${target.name}`;
}

export function checkTarget(target: ManagedDiskTarget, restoreId: string): void {
  if (!SUBSCRIPTION.test(target.subscriptionId)) throw errors.invalidArgument('target subscription', `'${target.subscriptionId}' is not a subscription id`);
  if (!RESOURCE_GROUP.test(target.resourceGroup)) throw errors.invalidArgument('target resource group', `'${target.resourceGroup}' is not a resource group name`);
  if (!DISK_NAME.test(target.name)) {
    throw errors.invalidArgument('target disk name', `'${target.name}' must be 1-80 letters, digits, '_', '.' or '-', starting with a letter or digit and not ending in '.' or '-'`);
  }
  if (!target.location.trim()) throw errors.invalidArgument('target location', 'must not be empty');
  if (restoreId.length < 1 || restoreId.length > 256) throw errors.invalidArgument('restore id', 'must be 1-256 characters (it is a tag value)');
}

export function targetRef(access: ArmAccess, target: ManagedDiskTarget, updateIntervalInMs?: number): TargetDiskRef {
  return {
    client: computeClient(access, target.subscriptionId),
    resourceGroup: target.resourceGroup,
    name: target.name,
    id: managedDiskId(target),
    pollIntervalMs: updateIntervalInMs,
    retryDelayMs: Math.max(10, updateIntervalInMs ?? 1000),
  };
}

/** A tag's value; ARM tag names are case-insensitive. */
export function tagOf(disk: Disk, name: string): string | undefined {
  const key = Object.keys(disk.tags ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : disk.tags?.[key];
}
