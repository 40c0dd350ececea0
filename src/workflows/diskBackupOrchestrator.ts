/**
 * The backup of one disk, as a Durable orchestration (instance id `backup-<diskKey>`):
 *
 *   backup.started → snapshot (snapshot.created) → plan → copy chunks, COPY_BATCH at a time →
 *   seal (recoverypoint.created) → prune (prune.completed) → backup.succeeded
 *
 * The data steps (snapshot, plan, copy, seal, prune) return permanent failures (a disk that is
 * gone, a corrupt point) as outcomes, so those end the job at once instead of after every retry.
 *
 * and on any failure: abandon (gives the lease back, removes working documents, emits
 * backup.failed with the error's code and message), then the error is rethrown so the instance
 * ends Failed. Every event comes from an activity. Deterministic: the job id comes from the
 * instance id and `context.df.currentUtcDateTime`, never from the wall clock.
 */
import * as df from 'durable-functions';
import type { OrchestrationContext, OrchestrationHandler } from 'durable-functions';
import type {
  CopyChunkInput,
  CopyChunkOutput,
  PlanOutput,
  PruneOutput,
  SealOutput,
  SnapshotOutput,
} from './activities';
import { parseDiskBackupInput } from './inputs';
import { ACTIVITIES, jobIdFor } from './names';
import { unwrap, type Outcome } from './outcome';

/** Chunks copied at once (each chunk copies several blocks in parallel itself). */
export const COPY_BATCH = 4;

export interface DiskBackupProgress {
  step: 'starting' | 'snapshot' | 'plan' | 'copy' | 'seal' | 'prune' | 'succeeded' | 'failed';
  jobId: string;
  chunksDone: number;
  chunksTotal: number;
}

export interface DiskBackupResult {
  jobId: string;
  diskKey: string;
  recoveryPointId: string;
  mode: 'full' | 'incremental';
  bytesChanged: number;
  bytesCleared: number;
  bytesTransferred: number;
  pruned: string[];
}

/** Retry options per kind of step (first retry after `first` ms, doubling, at most `attempts` tries). */
function retry(firstMs: number, attempts: number, maxMs = 60_000): df.RetryOptions {
  const options = new df.RetryOptions(Math.max(1, Math.round(firstMs * retryScale)), attempts);
  options.backoffCoefficient = 2;
  options.maxRetryIntervalInMilliseconds = Math.max(1, Math.round(maxMs * retryScale));
  return options;
}

let retryScale = 1;
/** Tests only: shortens every retry interval by `factor` (set once, before any orchestration runs). */
export function scaleRetryIntervalsForTests(factor: number): void {
  retryScale = factor;
}

export const RETRIES = {
  /** Sending an event: a queue hiccup. */
  event: () => retry(1_000, 5),
  /** Snapshot, plan, seal, prune, abandon: metadata calls, idempotent. */
  metadata: () => retry(2_000, 4),
  /** Copying a chunk: minutes of data movement, idempotent; give transient throttling time. */
  copy: () => retry(5_000, 5, 120_000),
};

/**
 * The `{ code, message }` of a failed activity for backup.failed. Activity errors reach the
 * orchestrator as the library's TaskFailedError with the activity's message only, so the
 * activities' registration (functions/backups.ts, `withErrorCode`) puts deltavault's code in
 * front of the message: `CODE: message`.
 */
export function errorOf(e: unknown): { code: string; message: string } {
  const text = e instanceof Error ? e.message : String(e);
  const m = /(?:^|\s)([A-Z][A-Z0-9_]{2,63}): ([\s\S]*)$/.exec(text);
  if (m) return { code: m[1] as string, message: (m[2] as string).slice(0, 1000) || 'the backup failed' };
  return { code: 'INTERNAL_ERROR', message: text.slice(0, 1000) || 'the backup failed' };
}

export const diskBackupOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parseDiskBackupInput(context.df.getInput());
  const startedAt = context.df.currentUtcDateTime;
  const jobId = input.jobId ?? jobIdFor(context.df.instanceId, startedAt);
  const { diskKey } = input;
  // Every activity gets the disk key and, for a disk the config does not list, its managed disk id.
  const ref = { diskKey, jobId, ...(input.sourceId ? { sourceId: input.sourceId } : {}) };
  const progress: DiskBackupProgress = { step: 'starting', jobId, chunksDone: 0, chunksTotal: 0 };
  const report = (step: DiskBackupProgress['step']): void => {
    progress.step = step;
    context.df.setCustomStatus({ ...progress });
  };
  let sealed = false;
  try {
    report('starting');
    let snapshot: SnapshotOutput;
    if (input.prepared) {
      snapshot = input.prepared; // a VM backup emitted backup.started and snapshotted all its disks together
    } else {
      yield context.df.callActivityWithRetry(ACTIVITIES.emitStarted, RETRIES.event(), {
        ...ref,
        policy: input.policy.name,
        trigger: input.trigger,
      });
      report('snapshot');
      snapshot = unwrap((yield context.df.callActivityWithRetry(ACTIVITIES.snapshot, RETRIES.metadata(), ref)) as Outcome<SnapshotOutput>);
    }

    report('plan');
    const plan = unwrap(
      (yield context.df.callActivityWithRetry(ACTIVITIES.plan, RETRIES.metadata(), {
        ...ref,
        snapshotId: snapshot.snapshotId,
      })) as Outcome<PlanOutput>,
    );

    progress.chunksTotal = plan.chunkIndexes.length;
    report('copy');
    // A managed disk's chunks go one at a time: each holds the snapshot's one read grant.
    const batchSize = Math.max(1, Math.min(COPY_BATCH, plan.copyBatch ?? COPY_BATCH));
    for (let i = 0; i < plan.chunkIndexes.length; i += batchSize) {
      const batch = plan.chunkIndexes.slice(i, i + batchSize).map((index) => {
        const chunk: CopyChunkInput = { ...ref, index };
        return context.df.callActivityWithRetry(ACTIVITIES.copyChunk, RETRIES.copy(), chunk);
      });
      const done = ((yield context.df.Task.all(batch)) as Outcome<CopyChunkOutput>[]).map(unwrap);
      progress.chunksDone += done.length;
      report('copy');
    }

    report('seal');
    const point = unwrap(
      (yield context.df.callActivityWithRetry(ACTIVITIES.seal, RETRIES.metadata(), {
        ...ref,
        startedAt: startedAt.toISOString(),
        ...(input.pointAt ? { pointAt: input.pointAt } : {}),
      })) as Outcome<SealOutput>,
    );
    sealed = true;

    report('prune');
    const pruned = unwrap(
      (yield context.df.callActivityWithRetry(ACTIVITIES.prune, RETRIES.metadata(), {
        ...ref,
        retention: input.policy.retention,
        now: context.df.currentUtcDateTime.toISOString(),
      })) as Outcome<PruneOutput>,
    );

    yield context.df.callActivityWithRetry(ACTIVITIES.emitSucceeded, RETRIES.event(), {
      ...ref,
      recoveryPointId: point.recoveryPointId,
    });
    report('succeeded');
    const result: DiskBackupResult = {
      jobId,
      diskKey,
      recoveryPointId: point.recoveryPointId,
      mode: plan.mode,
      bytesChanged: point.bytesChanged,
      bytesCleared: point.bytesCleared,
      bytesTransferred: point.bytesTransferred,
      pruned: pruned.deleted,
    };
    return result;
  } catch (e) {
    report('failed');
    yield context.df.callActivityWithRetry(ACTIVITIES.abandon, RETRIES.metadata(), { ...ref, sealed, error: errorOf(e) });
    throw e;
  }
};
