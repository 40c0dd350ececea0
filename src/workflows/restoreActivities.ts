/**
 * The restore workflow's activities: each emits its step's job event itself (never the
 * orchestrator), with an id stable across retries (the job id is the instance id). The restore
 * activity writes its progress, every few windows, to a small progress document in the vault
 * container (`restores/progress/<instanceId>.json`), which `GET /api/restores/{id}` reads (an
 * activity cannot set the orchestration's custom status).
 */
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { buildEvent, EVENT_TYPES } from '../events/cloudEvents';
import { emitEvent } from '../events/eventEmitter';
import { restoreToPageBlob } from '../restore/restoreToPageBlob';
import { deleteBlobIfExists, readJson, writeJson } from '../vault/jsonBlob';
import { RESTORE_METADATA_KEY } from '../restore/restoreToPageBlob';
import { errors, storageStatus } from '../errors';
import { outcomeOf, type Outcome } from './outcome';
import { parseRecoveryPointId } from '../vault/vaultLayout';
import type { RestoreInput } from './inputs';

export interface RestoreActivityDeps {
  blobService: BlobServiceClient;
  vaultContainer: ContainerClient;
  eventsQueue: QueueClient;
}

export interface RestoreJobInput extends RestoreInput {
  /** The orchestration instance id, also the job id of the restore's events. */
  jobId: string;
}
export interface RestoreOutput {
  recoveryPointId: string;
  sizeBytes: number;
  bytesWritten: number;
  blocksChecked: number;
}
export interface RestoreSucceededInput extends RestoreJobInput {
  bytesWritten: number;
}
export interface RestoreFailedInput extends RestoreJobInput {
  error: { code: string; message: string };
}

export const restoreProgressSchema = z.object({
  bytesDone: z.number().int().nonnegative(),
  bytesTotal: z.number().int().nonnegative(),
});
export type RestoreProgress = z.output<typeof restoreProgressSchema>;

/** Where the progress of restore `instanceId` is kept, in the vault container. */
export function restoreProgressPath(instanceId: string): string {
  return `restores/progress/${instanceId}.json`;
}

/** The progress of a restore, or undefined before its restore activity began. */
export async function readRestoreProgress(vaultContainer: ContainerClient, instanceId: string): Promise<RestoreProgress | undefined> {
  return (await readJson(vaultContainer, restoreProgressPath(instanceId), restoreProgressSchema))?.value;
}

/** Progress is written at most this often (and at the end). */
export const PROGRESS_INTERVAL_MS = 1000;

export function restoreActivities(deps: RestoreActivityDeps) {
  const diskKeyOf = (input: RestoreJobInput): string => parseRecoveryPointId(input.recoveryPointId).diskKey;
  const targetOf = (input: RestoreJobInput) => ({ kind: 'pageBlob' as const, container: input.target.container, blob: input.target.blob });
  const writeProgress = (instanceId: string, progress: RestoreProgress): Promise<void> =>
    writeJson(deps.vaultContainer, restoreProgressPath(instanceId), progress, 'overwrite').then(() => undefined);

  async function restore(input: RestoreJobInput): Promise<RestoreOutput> {
    const container = deps.blobService.getContainerClient(input.target.container);
    await container.createIfNotExists();
    const target = container.getPageBlobClient(input.target.blob);
    let last = 0;
    let pending: Promise<void> = Promise.resolve();
    let failed: unknown;
    const result = await restoreToPageBlob(deps.vaultContainer, input.recoveryPointId, target, input.jobId, {
      onProgress: (progress) => {
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS) return;
        last = now;
        pending = pending.then(() => writeProgress(input.jobId, progress)).catch((e: unknown) => {
          failed ??= e;
        });
      },
    });
    await pending;
    if (failed !== undefined) throw failed;
    // The copy's total is the allocated bytes; when done, every one of them was written.
    await writeProgress(input.jobId, { bytesDone: result.bytesWritten, bytesTotal: result.bytesWritten });
    return { recoveryPointId: result.recoveryPointId, sizeBytes: result.sizeBytes, bytesWritten: result.bytesWritten, blocksChecked: result.blocksChecked };
  }

  return {
    async emitStarted(input: RestoreJobInput): Promise<null> {
      await emitEvent(
        deps.eventsQueue,
        buildEvent(EVENT_TYPES.restoreStarted, { jobId: input.jobId, diskKey: diskKeyOf(input), recoveryPointId: input.recoveryPointId, target: targetOf(input) }),
      );
      return null;
    },

    /** The restore; a corrupt or vanished recovery point is a failed outcome, not an error retried for minutes. */
    restore(input: RestoreJobInput): Promise<Outcome<RestoreOutput>> {
      return outcomeOf(() => restore(input));
    },

    /**
     * After a failed restore: deletes the target blob if this restore created it (its metadata
     * names the restore), so no half-written disk image is left looking like a restore. A blob
     * someone else made is never touched.
     */
    async discardTarget(input: RestoreJobInput): Promise<{ deleted: boolean }> {
      const blob = deps.blobService.getContainerClient(input.target.container).getPageBlobClient(input.target.blob);
      let owner: string | undefined;
      try {
        owner = (await blob.getProperties()).metadata?.[RESTORE_METADATA_KEY];
      } catch (e) {
        if (storageStatus(e) === 404) return { deleted: false };
        throw errors.storage(`reading the restore target ${input.target.container}/${input.target.blob}`, e);
      }
      if (owner !== input.jobId) return { deleted: false };
      await deleteBlobIfExists(deps.blobService.getContainerClient(input.target.container), input.target.blob);
      return { deleted: true };
    },

    async emitSucceeded(input: RestoreSucceededInput): Promise<null> {
      await emitEvent(
        deps.eventsQueue,
        buildEvent(EVENT_TYPES.restoreSucceeded, {
          jobId: input.jobId,
          diskKey: diskKeyOf(input),
          recoveryPointId: input.recoveryPointId,
          target: targetOf(input),
          bytesWritten: input.bytesWritten,
        }),
      );
      return null;
    },

    async emitFailed(input: RestoreFailedInput): Promise<null> {
      await emitEvent(
        deps.eventsQueue,
        buildEvent(EVENT_TYPES.restoreFailed, {
          jobId: input.jobId,
          diskKey: diskKeyOf(input),
          recoveryPointId: input.recoveryPointId,
          target: targetOf(input),
          error: input.error,
        }),
      );
      return null;
    },
  };
}

export type RestoreActivities = ReturnType<typeof restoreActivities>;
