/**
 * The verify workflow's activities: check a recovery point's vault snapshot block by block
 * against its hash list, and emit `verify.completed` (from an activity, never the orchestrator;
 * the event id is stable across retries because the job id is the instance id).
 *
 * A point with more bad blocks than an event or an orchestration history should carry lists
 * the first MAX_LISTED of them and counts them all.
 */
import type { ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { buildEvent, EVENT_TYPES, MAX_LISTED, type EventError } from '../events/cloudEvents';
import { emitEvent } from '../events/eventEmitter';
import { verifyRecoveryPoint } from '../restore/verifyRecoveryPoint';
import { parseRecoveryPointId } from '../vault/vaultLayout';
import type { VerifyInput } from './inputs';
import { outcomeOf, type Outcome } from './outcome';
import { slicesOf, type Slice } from './slices';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { checkBlockHashes } from '../vault/blockHashList';
import { hashListExpectation } from '../vault/manifest';

export interface VerifyActivityDeps {
  vaultContainer: ContainerClient;
  eventsQueue: QueueClient;
}

export interface VerifyJobInput extends VerifyInput {
  /** The orchestration instance id, also the job id of the verify's event. */
  jobId: string;
}

/** What a verify found; also the orchestration's output, which the status URL shows. */
export interface VerifyOutput {
  recoveryPointId: string;
  ok: boolean;
  blocksChecked: number;
  /** How many blocks differ from the hash list. */
  badBlockCount: number;
  /** The indexes of the bad blocks (1 MiB each, from offset 0), the first MAX_LISTED of them. */
  badBlocks: number[];
}

export interface VerifySliceInput extends VerifyJobInput {
  slice?: Slice;
}

export interface VerifyCompletedInput extends VerifyJobInput {
  ok: boolean;
  badBlocks: number[];
  error?: EventError;
}

export function verifyActivities(deps: VerifyActivityDeps) {
  async function verify(input: VerifySliceInput): Promise<VerifyOutput> {
    const slice = input.slice;
    if (slice?.start === 0) {
      // A slice reads only its part of the hash list: the first one checks the list whole.
      const manifest = await readRecoveryPoint(deps.vaultContainer, input.recoveryPointId);
      await checkBlockHashes(deps.vaultContainer, manifest.blocks.blob, hashListExpectation(manifest));
    }
    const result = await verifyRecoveryPoint(deps.vaultContainer, input.recoveryPointId, slice ? { range: slice } : {});
    return {
      recoveryPointId: result.recoveryPointId,
      ok: result.ok,
      blocksChecked: result.blocksChecked,
      badBlockCount: result.badBlocks.length,
      badBlocks: result.badBlocks.slice(0, MAX_LISTED),
    };
  }

  return {
    /** The check (of one slice); a vanished point or a damaged hash list is a failed outcome, not an error retried for minutes. */
    verify(input: VerifySliceInput): Promise<Outcome<VerifyOutput>> {
      return outcomeOf(() => verify(input));
    },

    /** The slices the verify runs in. */
    planVerify(input: VerifyJobInput): Promise<Outcome<Slice[]>> {
      return outcomeOf(async () => slicesOf((await readRecoveryPoint(deps.vaultContainer, input.recoveryPointId)).sizeBytes));
    },

    async emitCompleted(input: VerifyCompletedInput): Promise<null> {
      await emitEvent(
        deps.eventsQueue,
        buildEvent(EVENT_TYPES.verifyCompleted, {
          jobId: input.jobId,
          diskKey: parseRecoveryPointId(input.recoveryPointId).diskKey,
          recoveryPointId: input.recoveryPointId,
          ok: input.ok,
          badBlocks: input.badBlocks.slice(0, MAX_LISTED),
          ...(input.error ? { error: input.error } : {}),
        }),
      );
      return null;
    },
  };
}

export type VerifyActivities = ReturnType<typeof verifyActivities>;
