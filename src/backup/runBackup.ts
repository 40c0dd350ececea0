/**
 * One whole backup in-process: snapshot → plan → copy every chunk → seal. The Functions app
 * runs the same steps as separate activities (with retries and fan-out); this is what the
 * benchmarks and the engine's tests call.
 */
import type { DiskSource } from '../disks/diskSource';
import type { RecoveryPointSummary } from '../vault/manifest';
import type { VaultDisk } from '../vault/vaultDisk';
import { forEachBounded } from '../util/boundedPool';
import { copyChunk, CopyChunkOptions } from './copyChunk';
import { ChunkResult, PlanSummary, totalResults } from './jobDocuments';
import { planBackup, PlanBackupOptions } from './planBackup';
import { sealRecoveryPoint } from './sealRecoveryPoint';

export interface RunBackupOptions extends PlanBackupOptions, CopyChunkOptions {
  /** Chunks copied at once (each with `concurrency` blocks in flight). */
  parallelChunks?: number;
}

export interface BackupOutcome {
  plan: PlanSummary;
  recoveryPoint: RecoveryPointSummary;
  totals: ReturnType<typeof totalResults>;
}

export async function runBackup(source: DiskSource, vault: VaultDisk, jobId: string, options: RunBackupOptions = {}): Promise<BackupOutcome> {
  const snapshot = await source.createSnapshot(jobId);
  const plan = await planBackup(source, vault, jobId, snapshot, options);
  const results: ChunkResult[] = [];
  await forEachBounded(plan.chunks, options.parallelChunks ?? 1, async (chunk) => {
    results.push(await copyChunk(source, vault, jobId, chunk.index, options));
  });
  const recoveryPoint = await sealRecoveryPoint(vault, jobId, { now: options.now });
  return { plan, recoveryPoint, totals: totalResults(results) };
}
