/**
 * A restore into a new page blob, as a Durable orchestration (instance id `restore-<hash of the
 * target>`, which is also the job id of its events):
 *
 *   restore.started → plan (a page blob's slices of 64 GiB of address space) → restore each
 *   slice in turn (copy, check every block, read back; one activity each, so a large disk stays
 *   within the activity time limit; a managed disk is restored in one activity) →
 *   restore.succeeded with bytesWritten
 *
 * and on failure: the target blob this restore created is deleted (no half-written image stays
 * behind), restore.failed carries the error's code and message, and the error is rethrown so the
 * instance ends Failed. A corrupt or vanished recovery point fails at once; storage failures
 * are retried first. Every event comes from an activity.
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { RETRIES, errorOf } from './diskBackupOrchestrator';
import { parseRestoreInput, parseVmRestoreInput, type RestoreInput } from './inputs';
import { unwrap, type Outcome } from './outcome';
import { RESTORE_ACTIVITIES, RESTORE_ORCHESTRATOR } from './names';
import type { RestoreJobInput, RestoreOutput, RestorePlan, RestoreSliceInput } from './restoreActivities';

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
    const plan = unwrap((yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.planRestore, RETRIES.metadata(), job)) as Outcome<RestorePlan>);
    let restored: RestoreOutput;
    if (plan.slices.length === 0) {
      restored = unwrap((yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.restore, RETRIES.copy(), job)) as Outcome<RestoreOutput>);
    } else {
      // One slice after another, each its own activity (so each fits the time limit); the totals add up.
      let done = 0;
      let checked = 0;
      let last: RestoreOutput | undefined;
      for (const s of plan.slices) {
        const input: RestoreSliceInput = { ...job, slice: { ...s, doneBefore: done, bytesTotal: plan.bytesTotal } };
        last = unwrap((yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.restore, RETRIES.copy(), input)) as Outcome<RestoreOutput>);
        done += last.bytesWritten;
        checked += last.blocksChecked;
      }
      restored = { ...(last as RestoreOutput), bytesWritten: done, blocksChecked: checked };
    }
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
