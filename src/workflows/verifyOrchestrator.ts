/**
 * Verifying a recovery point, as a Durable orchestration (instance id `verify-<hash>`, also the
 * job id of its event):
 *
 *   verify (read the vault snapshot, hash every allocated block, compare with the hash list) →
 *   verify.completed with ok and the bad blocks
 *
 * A verify that cannot finish (the point was pruned meanwhile, its hash list is damaged) still
 * emits verify.completed, with ok false and the error, then the instance ends Failed. Nothing in
 * the vault is changed either way.
 */
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import { RETRIES, errorOf } from './diskBackupOrchestrator';
import { parseVerifyInput } from './inputs';
import { unwrap, type Outcome } from './outcome';
import { VERIFY_ACTIVITIES } from './names';
import type { VerifyCompletedInput, VerifyJobInput, VerifyOutput } from './verifyActivities';

export const verifyOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parseVerifyInput(context.df.getInput());
  const job: VerifyJobInput = { ...input, jobId: context.df.instanceId };
  let result: VerifyOutput;
  try {
    result = unwrap((yield context.df.callActivityWithRetry(VERIFY_ACTIVITIES.verify, RETRIES.copy(), job)) as Outcome<VerifyOutput>);
  } catch (e) {
    const failed: VerifyCompletedInput = { ...job, ok: false, badBlocks: [], error: errorOf(e) };
    yield context.df.callActivityWithRetry(VERIFY_ACTIVITIES.emitCompleted, RETRIES.event(), failed);
    throw e;
  }
  const completed: VerifyCompletedInput = { ...job, ok: result.ok, badBlocks: result.badBlocks };
  yield context.df.callActivityWithRetry(VERIFY_ACTIVITIES.emitCompleted, RETRIES.event(), completed);
  return result;
};
