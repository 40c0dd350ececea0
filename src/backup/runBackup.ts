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
  /** Called as each step begins (the benchmark times and counts requests per step). */
  onStep?: (step: 'snapshot' | 'plan' | 'copy' | 'seal') => void;
}

export interface BackupOutcome {
  plan: PlanSummary;
  recoveryPoint: RecoveryPointSummary;
  totals: ReturnType<typeof totalResults>;
}

export async function runBackup(source: DiskSource, vault: VaultDisk, jobId: string, options: RunBackupOptions = {}): Promise<BackupOutcome> {
  options.onStep?.('snapshot');
  const snapshot = await source.createSnapshot(jobId);
  options.onStep?.('plan');
  const plan = await planBackup(source, vault, jobId, snapshot, options);
  const results: ChunkResult[] = [];
  options.onStep?.('copy');
  await forEachBounded(plan.chunks, options.parallelChunks ?? 1, async (chunk) => {
    results.push(await copyChunk(source, vault, jobId, chunk.index, options));
  });
  options.onStep?.('seal');
  const recoveryPoint = await sealRecoveryPoint(vault, jobId, { now: options.now });
  return { plan, recoveryPoint, totals: totalResults(results) };
}
