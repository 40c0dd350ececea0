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
import type { DiskBackupInput, PolicyBackupInput, Trigger } from './inputs';
import { ORCHESTRATORS, compactTime, diskInstanceId, policyInstanceId } from './names';

/** Runtime statuses of an instance that still runs (or is about to). */
export const ACTIVE_STATUSES: readonly string[] = ['Pending', 'Running', 'ContinuedAsNew'];

export function isActiveStatus(runtimeStatus: string | undefined): boolean {
  return runtimeStatus !== undefined && ACTIVE_STATUSES.includes(runtimeStatus);
}

/** The job id of a skipped start (its own job in the history, marked skipped). */
export function skippedJobId(instanceId: string, at: Date): string {
  return `${instanceId}-skipped-${compactTime(at)}`;
}

async function runtimeStatusOf(client: DurableClient, instanceId: string): Promise<string | undefined> {
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
  const instanceId = diskInstanceId(disk.key);
  const skip = async (reason: string): Promise<StartOutcome> => {
    await emitSkipped(eventsQueue, disk.key, skippedJobId(instanceId, now), reason);
    return { instanceId, started: false };
  };
  const status = await runtimeStatusOf(client, instanceId);
  if (isActiveStatus(status)) return skip(`the previous backup of disk '${disk.key}' (instance ${instanceId}) is still ${status?.toLowerCase()}`);
  const input: DiskBackupInput = { diskKey: disk.key, trigger, policy: { name: policy.name, retention: policy.retention } };
  try {
    await client.startNew(ORCHESTRATORS.diskBackup, { instanceId, input });
  } catch (e) {
    if (looksLikeConflict(e)) return skip(`another backup of disk '${disk.key}' (instance ${instanceId}) started first`);
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
): Promise<PolicyStartOutcome> {
  const disks: string[] = [];
  const skipped: string[] = [];
  for (const disk of disksOfPolicy(config, policy.name)) {
    const instanceId = diskInstanceId(disk.key);
    const status = await runtimeStatusOf(client, instanceId);
    if (isActiveStatus(status)) {
      await emitSkipped(eventsQueue, disk.key, skippedJobId(instanceId, now), `the previous backup of disk '${disk.key}' (instance ${instanceId}) is still ${status?.toLowerCase()}`);
      skipped.push(disk.key);
    } else {
      disks.push(disk.key);
    }
  }
  const instanceId = policyInstanceId(policy.name, now);
  const input: PolicyBackupInput = { policy: { name: policy.name, retention: policy.retention }, trigger, disks };
  await client.startNew(ORCHESTRATORS.policyBackup, { instanceId, input });
  return { instanceId, disks, skipped };
}
