/**
 * The restore workflow's activities: each emits its step's job event itself (never the
 * orchestrator), with an id stable across retries (the job id is the instance id). A page blob
 * is restored by one activity per slice; a managed disk by one activity per step of
 * src/restore/restoreToManagedDisk.ts (prepare, write each slice, finish the write, check each
 * slice, finish the check). The activities that write (a page-blob slice, a managed-disk write
 * slice and its finish) write their progress, every few windows, to a small progress document in
 * the vault container (`restores/progress/<instanceId>.json`), which `GET /api/restores/{id}`
 * reads (an activity cannot set the orchestration's custom status).
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
import { slicesOf, type Slice } from './slices';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { totalBytes } from '../ranges/byteRange';
import { listAllocatedRanges } from '../util/pageBlobRanges';
import type { ArmAccess } from '../azure/armAccess';
import { appArmAccess } from '../config/armClients';
import type { RestoreTargetData } from '../events/cloudEvents';
import {
  checkManagedDiskSlice,
  discardManagedDiskRestore,
  finishManagedDiskCheck,
  finishManagedDiskWrite,
  prepareManagedDiskRestore,
  writeManagedDiskSlice,
  type ManagedDiskLayoutJson,
  type ManagedDiskRestoreRef,
  type ManagedDiskSliceCheck,
  type PreparedManagedDiskRestore,
} from '../restore/restoreToManagedDisk';
import type { ManagedDiskTarget } from '../restore/managedDiskTarget';
import { parseRecoveryPointId } from '../vault/vaultLayout';
import type { ManagedDiskTargetInput, RestoreInput } from './inputs';

export interface RestoreActivityDeps {
  /** How ARM is reached for managed-disk targets (default: the app's settings). */
  arm?: () => ArmAccess;
  blobService: BlobServiceClient;
  vaultContainer: ContainerClient;
  eventsQueue: QueueClient;
  /** Bytes of address space per managed-disk slice (default SLICE_BYTES; tests make it small). */
  sliceBytes?: number;
  /** Poll interval of ARM long-running operations (default: the client's; tests make it short). */
  updateIntervalInMs?: number;
}

export interface RestoreJobInput extends RestoreInput {
  /** The orchestration instance id, also the job id of the restore's events. */
  jobId: string;
}

/** Where a restore's writes stand when a step starts: what its progress adds to. */
export interface ProgressBase {
  doneBefore: number;
  bytesTotal: number;
}

/** One slice of a page-blob restore, and where the whole restore stands when it starts. */
export interface RestoreSliceInput extends RestoreJobInput {
  slice?: Slice & ProgressBase;
}

/** A step of a managed-disk restore after prepare: the layout prepare returned. */
export interface ManagedDiskStepJobInput extends RestoreJobInput {
  layout: ManagedDiskLayoutJson;
}
export interface ManagedDiskWriteSliceInput extends ManagedDiskStepJobInput {
  slice: Slice & ProgressBase;
}
export interface ManagedDiskFinishWriteInput extends ManagedDiskStepJobInput {
  progress: ProgressBase;
}
export interface ManagedDiskCheckSliceInput extends ManagedDiskStepJobInput {
  slice: Slice;
}
export interface ManagedDiskFinishCheckInput extends ManagedDiskStepJobInput {
  /** What the check slices found (the first MAX_LISTED). */
  badBlocks: number[];
}

export interface RestorePlan {
  /** Block-aligned, window-aligned byte ranges covering the point, restored one after another. */
  slices: { start: number; end: number }[];
  /** The point's allocated bytes (what the progress counts to). */
  bytesTotal: number;
}


export interface RestoreOutput {
  recoveryPointId: string;
  /** A managed-disk target: the new disk's resource id. */
  diskId?: string;
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
  const targetOf = (input: RestoreJobInput): RestoreTargetData =>
    input.target.kind === 'pageBlob'
      ? { kind: 'pageBlob', container: input.target.container, blob: input.target.blob }
      : { kind: 'managedDisk', subscriptionId: input.target.subscriptionId, resourceGroup: input.target.resourceGroup, name: input.target.name };
  /** What every restore event says: the job, the disk, the recovery point and the target. */
  const eventData = (input: RestoreJobInput) => ({
    jobId: input.jobId,
    diskKey: diskKeyOf(input),
    recoveryPointId: input.recoveryPointId,
    target: targetOf(input),
  });
  const armOf = (): ArmAccess => (deps.arm ? deps.arm() : appArmAccess());
  /** The restore a managed-disk step works on (restore id: the job id). */
  const managedRef = (input: RestoreJobInput): ManagedDiskRestoreRef => {
    if (input.target.kind !== 'managedDisk') throw errors.invalidArgument('restore target', 'a managed-disk step was given a page-blob target');
    const { updateIntervalInMs } = deps;
    return {
      access: armOf(),
      vaultContainer: deps.vaultContainer,
      recoveryPointId: input.recoveryPointId,
      target: managedTarget(input.target),
      restoreId: input.jobId,
      ...(updateIntervalInMs === undefined ? {} : { updateIntervalInMs }),
    };
  };
  const managedTarget = (t: ManagedDiskTargetInput): ManagedDiskTarget => ({
    subscriptionId: t.subscriptionId,
    resourceGroup: t.resourceGroup,
    name: t.name,
    location: t.location,
    ...(t.sku ? { sku: t.sku } : {}),
    ...(t.zone ? { zone: t.zone } : {}),
  });
  /** Progress, written at most every PROGRESS_INTERVAL_MS; `flush` waits for the writes and rethrows a failed one. */
  const progressWriter = (instanceId: string) => {
    let last = 0;
    let pending: Promise<void> = Promise.resolve();
    let failed: unknown;
    return {
      report: (progress: RestoreProgress): void => {
        const now = Date.now();
        if (now - last < PROGRESS_INTERVAL_MS) return;
        last = now;
        pending = pending.then(() => writeProgress(instanceId, progress)).catch((e: unknown) => {
          failed ??= e;
        });
      },
      flush: async (): Promise<void> => {
        await pending;
        if (failed !== undefined) throw failed;
      },
    };
  };
  const writeProgress = (instanceId: string, progress: RestoreProgress): Promise<void> =>
    writeJson(deps.vaultContainer, restoreProgressPath(instanceId), progress, 'overwrite').then(() => undefined);

  /**
   * Runs a step that writes, reporting its progress on top of `base` (every PROGRESS_INTERVAL_MS),
   * and when it is done the progress it reached.
   */
  async function writing<T extends { bytesWritten: number }>(
    jobId: string,
    base: ProgressBase,
    work: (onProgress: (p: { bytesDone: number }) => void) => Promise<T>,
  ): Promise<T> {
    const progress = progressWriter(jobId);
    const out = await work((p) => progress.report({ bytesDone: base.doneBefore + p.bytesDone, bytesTotal: base.bytesTotal }));
    await progress.flush();
    // The copy's total is the allocated bytes; when done, every one of them was written.
    const done = base.doneBefore + out.bytesWritten;
    await writeProgress(jobId, { bytesDone: done, bytesTotal: Math.max(base.bytesTotal, done) });
    return out;
  }

  async function restorePageBlobSlice(input: RestoreSliceInput): Promise<RestoreOutput> {
    if (input.target.kind !== 'pageBlob') throw errors.invalidArgument('restore target', 'a managed disk is restored by its own steps');
    const container = deps.blobService.getContainerClient(input.target.container);
    await container.createIfNotExists();
    const target = container.getPageBlobClient(input.target.blob);
    const slice = input.slice;
    return writing(input.jobId, slice ?? { doneBefore: 0, bytesTotal: 0 }, async (onProgress) => {
      const result = await restoreToPageBlob(deps.vaultContainer, input.recoveryPointId, target, input.jobId, {
        ...(slice ? { range: { start: slice.start, end: slice.end } } : {}),
        onProgress,
      });
      return { recoveryPointId: result.recoveryPointId, sizeBytes: result.sizeBytes, bytesWritten: result.bytesWritten, blocksChecked: result.blocksChecked };
    });
  }

  return {
    async emitStarted(input: RestoreJobInput): Promise<null> {
      await emitEvent(deps.eventsQueue, buildEvent(EVENT_TYPES.restoreStarted, eventData(input)));
      return null;
    },

    /** The restore of one slice of a page blob; a corrupt or vanished recovery point is a failed outcome, not an error retried for minutes. */
    restore(input: RestoreSliceInput): Promise<Outcome<RestoreOutput>> {
      return outcomeOf(() => restorePageBlobSlice(input));
    },

    /** The slices a page-blob restore runs in. */
    planRestore(input: RestoreJobInput): Promise<Outcome<RestorePlan>> {
      return outcomeOf(async () => {
        if (input.target.kind !== 'pageBlob') throw errors.invalidArgument('restore target', 'a managed disk is restored by its own steps');
        const manifest = await readRecoveryPoint(deps.vaultContainer, input.recoveryPointId);
        const snapshot = deps.vaultContainer.getPageBlobClient(manifest.vault.baseBlob).withSnapshot(manifest.vault.snapshot);
        const bytesTotal = totalBytes(await listAllocatedRanges(snapshot));
        return { slices: slicesOf(manifest.sizeBytes), bytesTotal };
      });
    },

    /** A managed disk, step 1: check the point, create (or resume) the upload disk; the slices and layout of the rest. */
    prepareManagedDisk(input: RestoreJobInput): Promise<Outcome<PreparedManagedDiskRestore>> {
      return outcomeOf(() => prepareManagedDiskRestore({ ...managedRef(input), ...(deps.sliceBytes ? { sliceBytes: deps.sliceBytes } : {}) }));
    },

    /** A managed disk, step 2 (per slice): write the slice's checked blocks; never revokes (that would end the upload). */
    writeManagedDiskSlice(input: ManagedDiskWriteSliceInput): Promise<Outcome<{ bytesWritten: number }>> {
      const { start, end } = input.slice;
      return outcomeOf(() =>
        writing(input.jobId, input.slice, (onProgress) => writeManagedDiskSlice({ ...managedRef(input), layout: input.layout, slice: { start, end }, onProgress })),
      );
    },

    /** A managed disk, step 3: write the footer and revoke, which ends the upload. */
    finishManagedDiskWrite(input: ManagedDiskFinishWriteInput): Promise<Outcome<{ bytesWritten: number }>> {
      return outcomeOf(() => writing(input.jobId, input.progress, () => finishManagedDiskWrite({ ...managedRef(input), layout: input.layout })));
    },

    /** A managed disk, step 4 (per slice): read the slice back against the manifest. */
    checkManagedDiskSlice(input: ManagedDiskCheckSliceInput): Promise<Outcome<ManagedDiskSliceCheck>> {
      const { start, end } = input.slice;
      return outcomeOf(() => checkManagedDiskSlice({ ...managedRef(input), layout: input.layout, slice: { start, end } }));
    },

    /** A managed disk, step 5: check the disk's end, revoke, tag it verified (or INTEGRITY_FAILED). */
    finishManagedDiskCheck(input: ManagedDiskFinishCheckInput): Promise<Outcome<{ verified: true }>> {
      return outcomeOf(() => finishManagedDiskCheck({ ...managedRef(input), layout: input.layout, badBlocks: input.badBlocks }));
    },

    /**
     * After a failed restore: deletes the target blob if this restore created it (its metadata
     * names the restore), so no half-written disk image is left looking like a restore. A blob
     * someone else made is never touched.
     */
    async discardTarget(input: RestoreJobInput): Promise<{ deleted: boolean }> {
      if (input.target.kind === 'managedDisk') {
        return discardManagedDiskRestore({ access: armOf(), target: managedTarget(input.target), restoreId: input.jobId });
      }
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
      await emitEvent(deps.eventsQueue, buildEvent(EVENT_TYPES.restoreSucceeded, { ...eventData(input), bytesWritten: input.bytesWritten }));
      return null;
    },

    async emitFailed(input: RestoreFailedInput): Promise<null> {
      await emitEvent(deps.eventsQueue, buildEvent(EVENT_TYPES.restoreFailed, { ...eventData(input), error: input.error }));
      return null;
    },
  };
}

export type RestoreActivities = ReturnType<typeof restoreActivities>;
