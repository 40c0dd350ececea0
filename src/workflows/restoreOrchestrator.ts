/**
 * A restore into a new page blob, as a Durable orchestration (instance id `restore-<hash of the
 * target>`, which is also the job id of its events):
 *
 *   restore.started → restore (restoreToPageBlob: copy, check every block, read back) →
 *   restore.succeeded with bytesWritten
 *
 * and on failure restore.failed with the error's code and message, then the error is rethrown
 * so the instance ends Failed. Every event comes from an activity.
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { RETRIES, errorOf } from './diskBackupOrchestrator';
import { parseRestoreInput } from './inputs';
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
    const restored = (yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.restore, RETRIES.copy(), job)) as RestoreOutput;
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
    yield context.df.callActivityWithRetry(RESTORE_ACTIVITIES.emitFailed, RETRIES.event(), { ...job, error: errorOf(e) });
    throw e;
  }
};
