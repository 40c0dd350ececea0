/**
 * A restore into a new page blob or a new managed disk, as a Durable orchestration (instance id
 * `restore-<hash of the target>`, which is also the job id of its events). Every long step runs
 * in slices of 64 GiB of address space (src/workflows/slices.ts), one activity each, one after
 * another, so a large disk stays within the activity time limit:
 *
 *   page blob:    restore.started → plan → restore each slice (copy, check every block, read
 *                 back) → restore.succeeded with bytesWritten
 *   managed disk: restore.started → prepare (check the point, create or resume the upload disk)
 *                 → write each slice (grant Write, write its checked blocks; no revoke, which
 *                 would end the upload) → finish the write (footer, revoke) → check each slice
 *                 (grant Read, read it back) → finish the check (the disk's end, revoke, tag
 *                 verified) → restore.succeeded with bytesWritten
 *
 * and on failure: the target this restore created is deleted (a managed disk's access revoked
 * first), so no half-written image stays behind, restore.failed carries the error's code and
 * message, and the error is rethrown so the instance ends Failed. A corrupt or vanished recovery
 * point fails at once; storage failures are retried first (a managed-disk write slice retried
 * grants Write again and rewrites its blocks). Every event comes from an activity; progress is
 * the document the writing activities keep (restoreActivities.ts).
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import { RETRIES, errorOf } from './diskBackupOrchestrator';
import { parseRestoreInput, parseVmRestoreInput, type RestoreInput } from './inputs';
import { unwrap, type Outcome } from './outcome';
import { RESTORE_ACTIVITIES, RESTORE_ORCHESTRATOR } from './names';
import type {
  ManagedDiskCheckSliceInput,
  ManagedDiskFinishCheckInput,
  ManagedDiskFinishWriteInput,
  ManagedDiskWriteSliceInput,
  RestoreJobInput,
  RestoreOutput,
  RestorePlan,
  RestoreSliceInput,
} from './restoreActivities';
import type { ManagedDiskSliceCheck, PreparedManagedDiskRestore } from '../restore/restoreToManagedDisk';
import { MAX_LISTED } from '../events/cloudEvents';

export interface RestoreResult {
  jobId: string;
  recoveryPointId: string;
  target: RestoreInput['target'];
  sizeBytes: number;
  bytesWritten: number;
  /** A managed-disk target: the new disk's resource id. */
  diskId?: string;
}

export const restoreOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parseRestoreInput(context.df.getInput());
  const job: RestoreJobInput = { ...input, jobId: context.df.instanceId };
  try {
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.emitStarted, RETRIES.event(), job);
    const restored: RestoreOutput = input.target.kind === 'managedDisk' ? yield* restoreManagedDisk(context, job) : yield* restorePageBlob(context, job);
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.emitSucceeded, RETRIES.event(), { ...job, bytesWritten: restored.bytesWritten });
    const result: RestoreResult = {
      jobId: job.jobId,
      recoveryPointId: input.recoveryPointId,
      target: input.target,
      sizeBytes: restored.sizeBytes,
      bytesWritten: restored.bytesWritten,
      ...(restored.diskId ? { diskId: restored.diskId } : {}),
    };
    return result;
  } catch (e) {
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.discardTarget, RETRIES.metadata(), job);
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.emitFailed, RETRIES.event(), { ...job, error: errorOf(e) });
    throw e;
  }
};

/** Activity calls yielded by a part of the orchestration that returns T. */
type Steps<T> = Generator<Task, T, unknown>;

/** A page blob: its slices one after another, each its own activity; the totals add up. */
function* restorePageBlob(context: OrchestrationContext, job: RestoreJobInput): Steps<RestoreOutput> {
  const plan = unwrap((yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.planRestore, RETRIES.metadata(), job)) as Outcome<RestorePlan>);
  let done = 0;
  let checked = 0;
  let last: RestoreOutput | undefined;
  for (const s of plan.slices) {
    const input: RestoreSliceInput = { ...job, slice: { ...s, doneBefore: done, bytesTotal: plan.bytesTotal } };
    last = unwrap((yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.restore, RETRIES.copy(), input)) as Outcome<RestoreOutput>);
    done += last.bytesWritten;
    checked += last.blocksChecked;
  }
  return { ...(last as RestoreOutput), bytesWritten: done, blocksChecked: checked };
}

/**
 * A managed disk: prepare, write each slice, finish the write, check each slice, finish the
 * check, each its own activity. Only the two finishing steps revoke the disk's access.
 */
function* restoreManagedDisk(context: OrchestrationContext, job: RestoreJobInput): Steps<RestoreOutput> {
  const call = function* <T>(name: string, retries: ReturnType<typeof RETRIES.copy>, input: RestoreJobInput): Steps<T> {
    return unwrap((yield context.df.callActivityWithRetry(name, retries, input)) as Outcome<T>);
  };
  const prepared = yield* call<PreparedManagedDiskRestore>(RESTORE_ACTIVITIES.prepareManagedDisk, RETRIES.metadata(), job);
  const out: RestoreOutput = { recoveryPointId: prepared.recoveryPointId, diskId: prepared.diskId, sizeBytes: prepared.sizeBytes, bytesWritten: 0, blocksChecked: 0 };
  if (prepared.alreadyRestored) return out;
  const step = { ...job, layout: prepared.layout };
  const bytesTotal = prepared.bytesTotal;
  for (const s of prepared.slices) {
    const input: ManagedDiskWriteSliceInput = { ...step, slice: { ...s, doneBefore: out.bytesWritten, bytesTotal } };
    out.bytesWritten += (yield* call<{ bytesWritten: number }>(RESTORE_ACTIVITIES.writeManagedDiskSlice, RETRIES.copy(), input)).bytesWritten;
  }
  const finishWrite: ManagedDiskFinishWriteInput = { ...step, progress: { doneBefore: out.bytesWritten, bytesTotal } };
  out.bytesWritten += (yield* call<{ bytesWritten: number }>(RESTORE_ACTIVITIES.finishManagedDiskWrite, RETRIES.metadata(), finishWrite)).bytesWritten;
  const badBlocks: number[] = [];
  for (const s of prepared.slices) {
    const input: ManagedDiskCheckSliceInput = { ...step, slice: s };
    const check = yield* call<ManagedDiskSliceCheck>(RESTORE_ACTIVITIES.checkManagedDiskSlice, RETRIES.copy(), input);
    out.blocksChecked += check.blocksChecked;
    badBlocks.push(...check.badBlocks.slice(0, MAX_LISTED - badBlocks.length));
  }
  const finishCheck: ManagedDiskFinishCheckInput = { ...step, badBlocks };
  yield* call<{ verified: true }>(RESTORE_ACTIVITIES.finishManagedDiskCheck, RETRIES.metadata(), finishCheck);
  return out;
}

export interface VmRestoreResult {
  vmRecoveryPointId: string;
  disks: RestoreResult[];
}

/**
 * Restoring a VM recovery point: one restore orchestration per disk of the point (each its own
 * job, with its own events, into its own new managed disk), all at once. The VM restore fails if
 * any disk's restore fails; the disks restored meanwhile stay (each is complete and verified).
 */
export const vmRestoreOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parseVmRestoreInput(context.df.getInput());
  context.df.setCustomStatus({ step: 'restoring', disks: input.disks.length });
  const tasks = input.disks.map((d) =>
    context.df.callSubOrchestrator(RESTORE_ORCHESTRATOR, { recoveryPointId: d.recoveryPointId, target: d.target } satisfies RestoreInput, d.instanceId),
  );
  const disks = (yield context.df.Task.all(tasks)) as RestoreResult[];
  context.df.setCustomStatus({ step: 'done', disks: input.disks.length });
  const result: VmRestoreResult = { vmRecoveryPointId: input.vmRecoveryPointId, disks };
  return result;
};
