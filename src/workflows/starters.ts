/**
 * Starting backups from durable client functions (the policy timers and `POST /api/backups`).
 * A disk whose instance (`backup-<diskKey>`) is still active is not started again: the starter
 * emits `backup.skipped` for it (client code, not orchestrator code, so it may send events).
 * A start that loses the race with another starter (the instance id is taken between the
 * status check and startNew) is skipped the same way.
 */
import type { QueueClient } from '@azure/storage-queue';
import type { DurableClient } from 'durable-functions';
import type { ProtectedDisk, ProtectionConfig, ProtectionPolicy } from '../config/protectionConfig';
import { emitSkipped } from './activities';
import { disksOfPolicy } from './appConfig';
import type { DiskBackupInput, PolicyBackupInput, Trigger, VmBackupInput } from './inputs';
import { ORCHESTRATORS, compactTime, diskInstanceId, policyInstanceId, vmInstanceId } from './names';

/** Runtime statuses of an instance that still runs (or is about to). */
export const ACTIVE_STATUSES: readonly string[] = ['Pending', 'Running', 'ContinuedAsNew'];

export function isActiveStatus(runtimeStatus: string | undefined): boolean {
  return runtimeStatus !== undefined && ACTIVE_STATUSES.includes(runtimeStatus);
}

/** The job id of a skipped start (its own job in the history, marked skipped). */
export function skippedJobId(instanceId: string, at: Date): string {
  return `${instanceId}-skipped-${compactTime(at)}`;
}

/** An instance's runtime status, or undefined when there is no such instance. */
export async function runtimeStatusOf(client: DurableClient, instanceId: string): Promise<string | undefined> {
  try {
    const status = await client.getStatus(instanceId);
    return status?.runtimeStatus as string | undefined;
  } catch {
    return undefined; // no such instance
  }
}

function looksLikeConflict(e: unknown): boolean {
  const message = e instanceof Error ? e.message : String(e);
  return /already exists|409|conflict/i.test(message);
}

export interface StartOutcome {
  instanceId: string;
  started: boolean;
}

export async function startDiskBackup(
  client: DurableClient,
  eventsQueue: QueueClient,
  disk: ProtectedDisk,
  policy: ProtectionPolicy,
  trigger: Trigger,
  now: Date = new Date(),
): Promise<StartOutcome> {
  if (disk.source.kind === 'virtualMachine') return startVmBackup(client, eventsQueue, disk, policy, trigger, now);
  const instanceId = diskInstanceId(disk.key);
  const skip = async (reason: string): Promise<StartOutcome> => {
    await emitSkipped(eventsQueue, disk.key, skippedJobId(instanceId, now), reason);
    return { instanceId, started: false };
  };
  const status = await runtimeStatusOf(client, instanceId);
  if (isActiveStatus(status)) return skip(`the previous backup of disk '${disk.key}' (instance ${instanceId}) is still ${status?.toLowerCase()}`);
  const input: DiskBackupInput = {
    diskKey: disk.key,
    trigger,
    policy: { name: policy.name, retention: policy.retention },
    // For a disk the config lists by key the activities find it there; a tag-selected one by its id.
    ...(disk.source.kind === 'managedDisk' ? { sourceId: disk.source.id } : {}),
  };
  try {
    await client.startNew(ORCHESTRATORS.diskBackup, { instanceId, input });
  } catch (e) {
    if (looksLikeConflict(e)) return skip(`another backup of disk '${disk.key}' (instance ${instanceId}) started first`);
    throw e;
  }
  return { instanceId, started: true };
}

/** Starts a whole-VM backup (`vmbackup-<vmKey>`), skipped like a disk's while the previous one runs. */
export async function startVmBackup(
  client: DurableClient,
  eventsQueue: QueueClient,
  vm: ProtectedDisk,
  policy: ProtectionPolicy,
  trigger: Trigger,
  now: Date = new Date(),
): Promise<StartOutcome> {
  if (vm.source.kind !== 'virtualMachine') throw new TypeError('startVmBackup: not a virtual machine');
  const instanceId = vmInstanceId(vm.key);
  const skip = async (reason: string): Promise<StartOutcome> => {
    await emitSkipped(eventsQueue, vm.key, skippedJobId(instanceId, now), reason);
    return { instanceId, started: false };
  };
  const status = await runtimeStatusOf(client, instanceId);
  if (isActiveStatus(status)) return skip(`the previous backup of virtual machine '${vm.key}' (instance ${instanceId}) is still ${status?.toLowerCase()}`);
  const input: VmBackupInput = { vmKey: vm.key, vmId: vm.source.id, trigger, policy: { name: policy.name, retention: policy.retention } };
  try {
    await client.startNew(ORCHESTRATORS.vmBackup, { instanceId, input });
  } catch (e) {
    if (looksLikeConflict(e)) return skip(`another backup of virtual machine '${vm.key}' (instance ${instanceId}) started first`);
    throw e;
  }
  return { instanceId, started: true };
}

export interface PolicyStartOutcome {
  instanceId: string;
  disks: string[];
  skipped: string[];
}

export async function startPolicyBackup(
  client: DurableClient,
  eventsQueue: QueueClient,
  config: ProtectionConfig,
  policy: ProtectionPolicy,
  trigger: Trigger,
  now: Date = new Date(),
  /** Disks and VMs the tag selector found (resolveTagSelector), protected like listed ones. */
  selected?: readonly ProtectedDisk[],
): Promise<PolicyStartOutcome> {
  const disks: string[] = [];
  const managedDisks: { key: string; id: string }[] = [];
  const vms: { key: string; id: string }[] = [];
  const skipped: string[] = [];
  const members = [...disksOfPolicy(config, policy.name), ...(selected ?? []).filter((d) => d.policy === policy.name)];
  for (const disk of members) {
    const isVm = disk.source.kind === 'virtualMachine';
    const instanceId = isVm ? vmInstanceId(disk.key) : diskInstanceId(disk.key);
    const status = await runtimeStatusOf(client, instanceId);
    if (isActiveStatus(status)) {
      const what = isVm ? 'virtual machine' : 'disk';
      await emitSkipped(eventsQueue, disk.key, skippedJobId(instanceId, now), `the previous backup of ${what} '${disk.key}' (instance ${instanceId}) is still ${status?.toLowerCase()}`);
      skipped.push(disk.key);
    } else if (disk.source.kind === 'virtualMachine') {
      vms.push({ key: disk.key, id: disk.source.id });
    } else if (disk.source.kind === 'managedDisk' && !config.disks.some((d) => d.key === disk.key)) {
      managedDisks.push({ key: disk.key, id: disk.source.id });
    } else {
      disks.push(disk.key);
    }
  }
  const instanceId = policyInstanceId(policy.name, now);
  const input: PolicyBackupInput = {
    policy: { name: policy.name, retention: policy.retention },
    trigger,
    disks,
    ...(managedDisks.length > 0 ? { managedDisks } : {}),
    ...(vms.length > 0 ? { vms } : {}),
  };
  await client.startNew(ORCHESTRATORS.policyBackup, { instanceId, input });
  return { instanceId, disks: [...disks, ...managedDisks.map((d) => d.key), ...vms.map((v) => v.key)], skipped };
}
