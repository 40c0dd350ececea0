/**
 * Verifying a recovery point, as a Durable orchestration (instance id `verify-<hash>`, also the
 * job id of its event):
 *
 *   plan (slices of 64 GiB) → verify each slice in turn (read the vault snapshot, hash every
 *   allocated block, compare with the hash list; one activity each) →
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
import type { VerifyCompletedInput, VerifyJobInput, VerifyOutput, VerifySliceInput } from './verifyActivities';
import type { Slice } from './slices';
import { MAX_LISTED } from '../events/cloudEvents';

export const verifyOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parseVerifyInput(context.df.getInput());
  const job: VerifyJobInput = { ...input, jobId: context.df.instanceId };
  let result: VerifyOutput;
  try {
    const slices = unwrap((yield context.df.callActivityWithRetry(VERIFY_ACTIVITIES.planVerify, RETRIES.metadata(), job)) as Outcome<Slice[]>);
    result = { recoveryPointId: input.recoveryPointId, ok: true, blocksChecked: 0, badBlockCount: 0, badBlocks: [] };
    // One slice after another, each its own activity (so a large disk stays within the time limit).
    for (const slice of slices) {
      const input: VerifySliceInput = { ...job, slice };
      const part = unwrap((yield context.df.callActivityWithRetry(VERIFY_ACTIVITIES.verify, RETRIES.copy(), input)) as Outcome<VerifyOutput>);
      result = {
        recoveryPointId: result.recoveryPointId,
        ok: result.ok && part.ok,
        blocksChecked: result.blocksChecked + part.blocksChecked,
        badBlockCount: result.badBlockCount + part.badBlockCount,
        badBlocks: [...result.badBlocks, ...part.badBlocks].slice(0, MAX_LISTED),
      };
    }
  } catch (e) {
    const failed: VerifyCompletedInput = { ...job, ok: false, badBlocks: [], error: errorOf(e) };
    yield context.df.callActivityWithRetry(VERIFY_ACTIVITIES.emitCompleted, RETRIES.event(), failed);
    throw e;
  }
  const completed: VerifyCompletedInput = { ...job, ok: result.ok, badBlocks: result.badBlocks };
  yield context.df.callActivityWithRetry(VERIFY_ACTIVITIES.emitCompleted, RETRIES.event(), completed);
  return result;
};
