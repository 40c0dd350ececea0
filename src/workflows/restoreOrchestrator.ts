/**
 * A restore into a new page blob, as a Durable orchestration (instance id `restore-<hash of the
 * target>`, which is also the job id of its events):
 *
 *   restore.started → restore (restoreToPageBlob: copy, check every block, read back) →
 *   restore.succeeded with bytesWritten
 *
 * and on failure: the target blob this restore created is deleted (no half-written image stays
 * behind), restore.failed carries the error's code and message, and the error is rethrown so the
 * instance ends Failed. A corrupt or vanished recovery point fails at once; storage failures
 * are retried first. Every event comes from an activity.
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { RETRIES, errorOf } from './diskBackupOrchestrator';
import { parseRestoreInput } from './inputs';
import { unwrap, type Outcome } from './outcome';
import { RESTORE_ACTIVITIES } from './names';
import type { RestoreJobInput, RestoreOutput } from './restoreActivities';

export interface RestoreResult {
  jobId: string;
  recoveryPointId: string;
  target: { kind: 'pageBlob'; container: string; blob: string };
  sizeBytes: number;
  bytesWritten: number;
}

export const restoreOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parseRestoreInput(context.df.getInput());
  const job: RestoreJobInput = { ...input, jobId: context.df.instanceId };
  try {
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.emitStarted, RETRIES.event(), job);
    const restored = unwrap((yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.restore, RETRIES.copy(), job)) as Outcome<RestoreOutput>);
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.emitSucceeded, RETRIES.event(), { ...job, bytesWritten: restored.bytesWritten });
    const result: RestoreResult = {
      jobId: job.jobId,
      recoveryPointId: input.recoveryPointId,
      target: input.target,
      sizeBytes: restored.sizeBytes,
      bytesWritten: restored.bytesWritten,
    };
    return result;
  } catch (e) {
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.discardTarget, RETRIES.metadata(), job);
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.emitFailed, RETRIES.event(), { ...job, error: errorOf(e) });
    throw e;
  }
};
