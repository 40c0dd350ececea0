/**
 * The backup workflow's activities over the engine (src/backup): each does one step for one job,
 * is idempotent (a retry redoes or finds its work), emits its step's job event itself (never the
 * orchestrator) with an id stable across retries, returns small JSON (no SAS, no range lists)
 * and throws on failure so the orchestrator's retry options apply.
 */
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { QueueClient } from '@azure/storage-queue';
import { abandonBackup } from '../backup/abandonBackup';
import { copyChunk } from '../backup/copyChunk';
import { planBackup } from '../backup/planBackup';
import { sealRecoveryPoint } from '../backup/sealRecoveryPoint';
import { deleteRecoveryPoint, listRecoveryPointsChecked } from '../catalog/recoveryPoints';
import type { ProtectionConfig } from '../config/protectionConfig';
import type { Settings } from '../config/settings';
import type { DiskSource } from '../disks/diskSource';
import { errors, isDeltavaultError } from '../errors';
import { buildEvent, EVENT_TYPES, type EventDataInput, type EventType } from '../events/cloudEvents';
import { emitEvent } from '../events/eventEmitter';
import { evaluateRetention, type RetentionPolicy } from '../retention/retentionPolicy';
import { VaultDisk } from '../vault/vaultDisk';
import { findDisk } from './appConfig';
import type { ArmAccess } from '../azure/armAccess';
import { appArmAccess } from '../config/armClients';
import { collectOrphans, type OrphanReport } from '../catalog/orphans';
import { VM_POINT_VERSION, pruneVmRecoveryPoints, vmRecoveryPointId, writeVmRecoveryPoint } from '../catalog/vmRecoveryPoints';
import { vmDisks, type VmDisks } from '../inventory/vmDisks';
import { deriveDiskKey, parseDiskSource, type ProtectedDisk } from '../config/protectionConfig';
import { diskSourceFor } from './diskSources';
import type { Trigger } from './inputs';

/** What the activities work with: the app's clients and config (tests pass their own). */
export interface ActivityDeps {
  settings: Settings;
  config: () => Promise<ProtectionConfig>;
  blobService: BlobServiceClient;
  vaultContainer: ContainerClient;
  eventsQueue: QueueClient;
  /** How ARM is reached (managed disks, VMs); default: the app's settings. */
  arm?: () => ArmAccess;
  /** Builds a disk's source (default: diskSourceFor). */
  sourceFor?: (diskKey: string, sourceId?: string) => Promise<DiskSource>;
}

export interface JobRef {
  diskKey: string;
  jobId: string;
  /** The managed disk, for a disk the config does not list by key (a VM's, a tag-selected one). */
  sourceId?: string;
}

export interface StartedInput extends JobRef {
  policy: string;
  trigger: Trigger;
}
export type SnapshotInput = JobRef;
export interface SnapshotOutput {
  snapshotId: string;
  sizeBytes: number;
}
export interface PlanInput extends JobRef {
  snapshotId: string;
}
export interface PlanOutput {
  mode: 'full' | 'incremental';
  chunkIndexes: number[];
  bytesChanged: number;
  bytesCleared: number;
  /** Chunks that may be copied at once (1 for a managed disk, whose snapshot has one read grant at a time). */
  copyBatch?: number;
}
export interface CopyChunkInput extends JobRef {
  index: number;
}
export interface CopyChunkOutput {
  index: number;
  bytesRead: number;
  bytesWritten: number;
  bytesCleared: number;
}
export interface SealInput extends JobRef {
  /** ISO time the orchestration started (for durationMs). */
  startedAt: string;
  /** ISO time of the recovery point when not its snapshot's (a VM backup's time, shared by its disks). */
  pointAt?: string;
}
export interface SealOutput {
  recoveryPointId: string;
  bytesChanged: number;
  bytesCleared: number;
  bytesTransferred: number;
  durationMs: number;
}
export interface PruneInput extends JobRef {
  retention: RetentionPolicy;
  /** ISO time retention is evaluated at (the orchestration's clock). */
  now: string;
}
export interface PruneOutput {
  deleted: string[];
  kept: number;
  snapshotsDeleted: number;
  /** What failed jobs left that nothing points at, collected (src/catalog/orphans.ts). */
  orphans: OrphanReport;
}
export interface SucceededInput extends JobRef {
  recoveryPointId: string;
}
export interface VmDisksInput {
  vmKey: string;
  vmId: string;
}
export interface SealVmInput {
  vmKey: string;
  vmId: string;
  location: string;
  jobId: string;
  /** ISO time the VM backup started. */
  takenAt: string;
  disks: { role: 'os' | 'data'; lun?: number; diskId: string; diskKey: string; recoveryPointId: string }[];
}
export interface SealVmOutput {
  vmRecoveryPointId: string;
  pruned: string[];
}
export interface AbandonInput extends JobRef {
  error: { code: string; message: string };
  /** The recovery point was sealed before the failure (prune or the last event failed): nothing to abandon. */
  sealed: boolean;
}

/**
 * A managed disk the config does not list by key, from the id its workflow carries; the key must
 * be the one the id derives (so an input cannot point a disk's chain at another disk).
 */
export function managedDiskByKey(diskKey: string, sourceId: string): ProtectedDisk {
  const source = parseDiskSource(sourceId);
  if (source?.kind !== 'managedDisk') throw errors.invalidArgument(`disk '${diskKey}'`, 'its source is not a managed disk resource id');
  if (deriveDiskKey(source) !== diskKey) throw errors.invalidArgument(`disk '${diskKey}'`, `is not the key of managed disk ${sourceId}`);
  return { key: diskKey, source, policy: '' };
}

export function backupActivities(deps: ActivityDeps) {
  const armOf = (): ArmAccess => (deps.arm ? deps.arm() : appArmAccess());
  const vaultOf = (diskKey: string): VaultDisk => new VaultDisk(deps.vaultContainer, diskKey);
  // The vault container is made on the first plan (a fresh account, such as the demo's, has none).
  let vaultReady: Promise<void> | undefined;
  const ensureVault = (): Promise<void> => {
    vaultReady ??= deps.vaultContainer.createIfNotExists().then(
      () => undefined,
      (e: unknown) => {
        vaultReady = undefined;
        throw errors.storage(`creating the vault container '${deps.vaultContainer.containerName}'`, e);
      },
    );
    return vaultReady;
  };
  const sourceOf = async (ref: Pick<JobRef, 'diskKey' | 'sourceId'>): Promise<DiskSource> => {
    if (deps.sourceFor) return deps.sourceFor(ref.diskKey, ref.sourceId);
    const listed = findDisk(await deps.config(), ref.diskKey);
    const disk = listed?.key === ref.diskKey && listed.source.kind !== 'virtualMachine' ? listed : ref.sourceId ? managedDiskByKey(ref.diskKey, ref.sourceId) : undefined;
    if (!disk) throw errors.notFound('protected disk', ref.diskKey);
    return diskSourceFor(disk, deps.settings, deps.blobService, armOf);
  };
  const emit = async <T extends EventType>(type: T, data: EventDataInput<T>, step?: string): Promise<void> => {
    await emitEvent(deps.eventsQueue, buildEvent(type, data, step === undefined ? {} : { step }));
  };

  return {
    async emitStarted(input: StartedInput): Promise<null> {
      await emit(EVENT_TYPES.backupStarted, { jobId: input.jobId, diskKey: input.diskKey, policy: input.policy, trigger: input.trigger });
      return null;
    },

    async snapshot(input: SnapshotInput): Promise<SnapshotOutput> {
      const source = await sourceOf(input);
      const snapshot = await source.createSnapshot(input.jobId);
      await emit(EVENT_TYPES.snapshotCreated, { jobId: input.jobId, diskKey: input.diskKey, snapshotId: snapshot.id });
      return { snapshotId: snapshot.id, sizeBytes: snapshot.sizeBytes };
    },

    async plan(input: PlanInput): Promise<PlanOutput> {
      const source = await sourceOf(input);
      const snapshot = await source.getSnapshot(input.snapshotId);
      await ensureVault();
      const plan = await planBackup(source, vaultOf(input.diskKey), input.jobId, snapshot);
      return {
        mode: plan.mode,
        chunkIndexes: plan.chunks.map((c) => c.index),
        bytesChanged: plan.bytes.changed,
        bytesCleared: plan.bytes.cleared,
        ...(source.kind === 'managedDisk' ? { copyBatch: 1 } : {}),
      };
    },

    async copyChunk(input: CopyChunkInput): Promise<CopyChunkOutput> {
      const source = await sourceOf(input);
      const r = await copyChunk(source, vaultOf(input.diskKey), input.jobId, input.index);
      return { index: r.index, bytesRead: r.bytesRead, bytesWritten: r.bytesWritten, bytesCleared: r.bytesCleared };
    },

    async seal(input: SealInput): Promise<SealOutput> {
      const point = await sealRecoveryPoint(vaultOf(input.diskKey), input.jobId, input.pointAt ? { pointAt: new Date(input.pointAt) } : {});
      const started = Date.parse(input.startedAt);
      const sealed = Date.parse(point.sealedAt);
      const out: SealOutput = {
        recoveryPointId: point.id,
        bytesChanged: point.bytes.changed,
        bytesCleared: point.bytes.cleared,
        bytesTransferred: point.bytes.transferred,
        durationMs: Number.isFinite(started) && Number.isFinite(sealed) ? Math.max(0, sealed - started) : 0,
      };
      await emit(EVENT_TYPES.recoveryPointCreated, { jobId: input.jobId, diskKey: input.diskKey, ...out });
      return out;
    },

    async prune(input: PruneInput): Promise<PruneOutput> {
      const vault = vaultOf(input.diskKey);
      // Retention decides over the points it can read; a point whose manifest is damaged is
      // neither deleted nor counted (a person decides; GET …/recovery-points shows it).
      const { points } = await listRecoveryPointsChecked(vault);
      const decision = evaluateRetention(
        points.map((p) => ({ id: p.id, createdAt: new Date(p.createdAt) })),
        input.retention,
        new Date(input.now),
      );
      for (const point of decision.delete) await deleteRecoveryPoint(deps.vaultContainer, point.id);
      // Source snapshots: keep those of points retention keeps for instant restore (and the
      // newest, the next diff base); every other snapshot deltavault made of this disk goes.
      const keepSnapshots = new Set(
        points.filter((p) => decision.keepSourceSnapshot.includes(p.id)).map((p) => p.source.snapshotId),
      );
      let snapshotsDeleted = 0;
      if (keepSnapshots.size > 0) {
        const source = await sourceOf(input);
        for (const snapshot of await source.listSnapshots()) {
          if (keepSnapshots.has(snapshot.id) || snapshot.jobId === input.jobId) continue;
          await source.deleteSnapshot(snapshot.id);
          snapshotsDeleted++;
        }
      }
      const orphans = await collectOrphans(vault, new Date(input.now));
      const deleted = decision.delete.map((p) => p.id);
      await emit(EVENT_TYPES.pruneCompleted, { jobId: input.jobId, diskKey: input.diskKey, deleted, kept: decision.keep.length });
      return { deleted, kept: decision.keep.length, snapshotsDeleted, orphans };
    },

    /** A VM's disks now (ARM), each with the key its chain lives under. */
    async vmDisks(input: VmDisksInput): Promise<VmDisks> {
      const source = parseDiskSource(input.vmId);
      if (source?.kind !== 'virtualMachine') throw errors.invalidArgument(`VM '${input.vmKey}'`, 'its id is not a virtual machine resource id');
      return vmDisks(armOf(), source);
    },

    /** Groups the VM's disk points under one VM point, then drops VM points whose disk points retention removed. */
    async sealVm(input: SealVmInput): Promise<SealVmOutput> {
      const id = vmRecoveryPointId(input.vmKey, new Date(input.takenAt));
      await writeVmRecoveryPoint(deps.vaultContainer, {
        version: VM_POINT_VERSION,
        id,
        vmKey: input.vmKey,
        vmId: input.vmId,
        location: input.location,
        takenAt: input.takenAt,
        jobId: input.jobId,
        disks: input.disks,
      });
      return { vmRecoveryPointId: id, pruned: await pruneVmRecoveryPoints(deps.vaultContainer, input.vmKey) };
    },

    async emitSucceeded(input: SucceededInput): Promise<null> {
      await emit(EVENT_TYPES.backupSucceeded, { jobId: input.jobId, diskKey: input.diskKey, recoveryPointId: input.recoveryPointId });
      return null;
    },

    /** Ends a failed job (gives the write lease back, removes working documents) and emits backup.failed. */
    async abandon(input: AbandonInput): Promise<null> {
      if (!input.sealed) await abandonBackup(vaultOf(input.diskKey), input.jobId);
      await emit(EVENT_TYPES.backupFailed, { jobId: input.jobId, diskKey: input.diskKey, error: input.error });
      return null;
    },
  };
}

export type BackupActivities = ReturnType<typeof backupActivities>;

/**
 * Runs an activity and, when it throws a DeltavaultError, puts its code in front of the message
 * (`STORAGE_FAILED: …`): only the message crosses into the orchestration, which reports the code
 * in backup.failed (diskBackupOrchestrator.errorOf).
 */
export async function withErrorCode<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (isDeltavaultError(e) && !e.message.startsWith(`${e.code}: `)) e.message = `${e.code}: ${e.message}`;
    throw e;
  }
}

/** Emits backup.skipped for a disk whose job is still running (called by the durable client starters). */
export async function emitSkipped(eventsQueue: QueueClient, diskKey: string, jobId: string, reason: string): Promise<void> {
  await emitEvent(eventsQueue, buildEvent(EVENT_TYPES.backupSkipped, { jobId, diskKey, reason }));
}
