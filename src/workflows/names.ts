/**
 * The backup workflow's function names, named once, and its deterministic instance and job ids.
 *
 * One disk has one orchestration instance id, `backup-<diskKey>`, whoever starts it (a policy's
 * timer, a policy orchestration, `POST /api/backups`): while it runs, another start of the same
 * disk finds it busy and is skipped (`backup.skipped`), so two jobs never write one disk's vault.
 */
import { createHash } from 'node:crypto';
import { assertDiskKey } from '../vault/vaultLayout';

export const ORCHESTRATORS = {
  diskBackup: 'diskBackupOrchestrator',
  policyBackup: 'policyBackupOrchestrator',
  vmBackup: 'vmBackupOrchestrator',
} as const;

export const ACTIVITIES = {
  emitStarted: 'backupEmitStarted',
  snapshot: 'backupSnapshot',
  plan: 'backupPlan',
  copyChunk: 'backupCopyChunk',
  seal: 'backupSeal',
  prune: 'backupPrune',
  emitSucceeded: 'backupEmitSucceeded',
  abandon: 'backupAbandon',
  vmDisks: 'backupVmDisks',
  sealVm: 'backupSealVm',
} as const;

/** The backup activities that return permanent failures as outcomes (the orchestrators unwrap them). */
export const BACKUP_OUTCOME_ACTIVITIES = ['snapshot', 'plan', 'copyChunk', 'seal', 'prune', 'vmDisks', 'sealVm'] as const satisfies readonly (keyof typeof ACTIVITIES)[];

export const DISK_INSTANCE_PREFIX = 'backup-';
export const VM_INSTANCE_PREFIX = 'vmbackup-';
export const POLICY_INSTANCE_PREFIX = 'policy-';

/** The one orchestration instance id of a disk's backups. */
export function diskInstanceId(diskKey: string): string {
  assertDiskKey(diskKey);
  return `${DISK_INSTANCE_PREFIX}${diskKey}`;
}

/** The one orchestration instance id of a VM's backups (its disks run under their own disk instance ids). */
export function vmInstanceId(vmKey: string): string {
  assertDiskKey(vmKey);
  return `${VM_INSTANCE_PREFIX}${vmKey}`;
}

/** `20240305T070809010Z`: a UTC time as it appears in job ids (letters and digits only). */
export function compactTime(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new RangeError('compactTime: invalid date');
  return at.toISOString().replace(/[-:.]/g, '');
}

/**
 * The job id of one run of an instance: the instance id and the orchestration's start time
 * (`context.df.currentUtcDateTime`, the same on every replay). Job ids allow letters, digits,
 * '_', '.', ':' and '-' (vaultLayout.assertJobId).
 */
export function jobIdFor(instanceId: string, startedAt: Date): string {
  return `${instanceId}-${compactTime(startedAt)}`;
}

/** The instance id of one run of a policy (one per fire, so runs never collide). */
export function policyInstanceId(policy: string, at: Date): string {
  return `${POLICY_INSTANCE_PREFIX}${policy}-${compactTime(at)}`;
}

// ---- restores

export const RESTORE_ORCHESTRATOR = 'restoreOrchestrator';
export const VM_RESTORE_ORCHESTRATOR = 'vmRestoreOrchestrator';

/** The restore workflow's activities (registered by functions/restores.ts, apart from ACTIVITIES). */
export const RESTORE_ACTIVITIES = {
  emitStarted: 'restoreEmitStarted',
  planRestore: 'restorePlan',
  restore: 'restoreToTarget',
  prepareManagedDisk: 'restoreManagedDiskPrepare',
  writeManagedDiskSlice: 'restoreManagedDiskWriteSlice',
  finishManagedDiskWrite: 'restoreManagedDiskFinishWrite',
  checkManagedDiskSlice: 'restoreManagedDiskCheckSlice',
  finishManagedDiskCheck: 'restoreManagedDiskFinishCheck',
  discardTarget: 'restoreDiscardTarget',
  emitSucceeded: 'restoreEmitSucceeded',
  emitFailed: 'restoreEmitFailed',
} as const;

export const RESTORE_INSTANCE_PREFIX = 'restore-';
/** `restore-` and 32 hex digits. */
export const RESTORE_INSTANCE_ID = /^restore-[0-9a-f]{32}$/;

/**
 * The one orchestration instance id of restores into one target (`restore-<hash of the target
 * blob's URL>`): a second request for the same target finds the instance or the blob and is refused.
 */
export function restoreInstanceId(targetUrl: string): string {
  return `${RESTORE_INSTANCE_PREFIX}${createHash('sha256').update(`deltavault-restore-v1\u0000${targetUrl}`).digest('hex').slice(0, 32)}`;
}

// ---- verifies

export const VERIFY_ORCHESTRATOR = 'verifyOrchestrator';

/** The verify workflow's activities (registered by functions/verifications.ts). */
export const VERIFY_ACTIVITIES = {
  planVerify: 'verifyPlan',
  verify: 'verifyRecoveryPoint',
  emitCompleted: 'verifyEmitCompleted',
} as const;

export const VERIFY_INSTANCE_PREFIX = 'verify-';
/** `verify-` and 32 hex digits. */
export const VERIFY_INSTANCE_ID = /^verify-[0-9a-f]{32}$/;

/**
 * The instance id of one verify request (`verify-<hash of the point and the request>`): every
 * request is its own job, so a verify never overwrites the status of an earlier one.
 */
export function verifyInstanceId(recoveryPointId: string, requestId: string): string {
  return `${VERIFY_INSTANCE_PREFIX}${createHash('sha256').update(`deltavault-verify-v1\u0000${recoveryPointId}\u0000${requestId}`).digest('hex').slice(0, 32)}`;
}
