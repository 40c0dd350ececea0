/**
 * The documents a backup job keeps in the vault while it runs: the plan (small: counts and
 * chunk sizes, which is all that goes through orchestration history), one range file per
 * chunk, and one result per finished chunk. Range lists can be huge, so they live here.
 */
import { z } from 'zod';

const nonNegative = z.number().int().nonnegative();
const rangeTuple = z.tuple([nonNegative, nonNegative]);

export const PLAN_VERSION = 1;

export const planSchema = z
  .object({
    version: z.literal(PLAN_VERSION),
    jobId: z.string(),
    diskKey: z.string(),
    mode: z.enum(['full', 'incremental']),
    fidelity: z.enum(['exact', 'superset']),
    createdAt: z.iso.datetime(),
    source: z.object({
      kind: z.enum(['pageBlob', 'managedDisk']),
      description: z.string(),
      snapshotId: z.string(),
      createdAt: z.iso.datetime(),
      sizeBytes: nonNegative,
    }),
    previous: z
      .object({ recoveryPointId: z.string(), sourceSnapshotId: z.string() })
      .nullable(),
    chainEtag: z.string().nullable(),
    blockBytes: z.number().int().positive(),
    bytes: z.object({ allocated: nonNegative, changed: nonNegative, cleared: nonNegative }),
    chunks: z.array(z.object({ index: nonNegative, blocks: nonNegative, bytes: nonNegative })),
  })
  .strict();
export type Plan = z.infer<typeof planSchema>;

export const chunkRangesSchema = z
  .object({
    index: nonNegative,
    /** Block-index ranges [first, last + 1). */
    blocks: z.array(rangeTuple),
    changed: z.array(rangeTuple),
    cleared: z.array(rangeTuple),
    allocated: z.array(rangeTuple),
    /** Allocated ranges of the base blob when planned: elsewhere it reads as zeros, so a compare needs no read there. */
    baseAllocated: z.array(rangeTuple),
    /** The previous recovery point's hashes of this chunk's blocks, present only when the base
     *  blob is known to still hold that point (superset diffs use them to skip unchanged blocks). */
    previousHashes: z.array(z.tuple([nonNegative, z.string().regex(/^[0-9a-f]{64}$/)])).optional(),
  })
  .strict();
export type ChunkRanges = z.infer<typeof chunkRangesSchema>;

export const chunkResultSchema = z
  .object({
    index: nonNegative,
    bytesRead: nonNegative,
    bytesWritten: nonNegative,
    bytesCleared: nonNegative,
    putPageCalls: nonNegative,
    /** Writes the vault service fetched from the source itself (Put Page From URL, on Azure). */
    putPageFromUrlCalls: nonNegative.default(0),
    clearPageCalls: nonNegative,
    /** [blockIndex, sha256 hex] of every allocated block of the chunk, ascending. */
    hashes: z.array(z.tuple([nonNegative, z.string().regex(/^[0-9a-f]{64}$/)])),
  })
  .strict();
export type ChunkResult = z.infer<typeof chunkResultSchema>;

/** What a plan activity returns: small enough for orchestration history. */
export interface PlanSummary {
  jobId: string;
  diskKey: string;
  mode: Plan['mode'];
  fidelity: Plan['fidelity'];
  sizeBytes: number;
  bytes: Plan['bytes'];
  chunks: Plan['chunks'];
}

export function summarizePlan(plan: Plan): PlanSummary {
  return {
    jobId: plan.jobId,
    diskKey: plan.diskKey,
    mode: plan.mode,
    fidelity: plan.fidelity,
    sizeBytes: plan.source.sizeBytes,
    bytes: plan.bytes,
    chunks: plan.chunks,
  };
}

export const toTuples = (ranges: readonly { start: number; end: number }[]): [number, number][] =>
  ranges.map((r) => [r.start, r.end]);
export const fromTuples = (tuples: readonly (readonly [number, number])[]): { start: number; end: number }[] =>
  tuples.map(([start, end]) => ({ start, end }));

/** Per-job summary of what the chunk results add up to (for the manifest and events). */
/** The counters of a job's chunk results, added up. */
export interface CopyTotals {
  bytesRead: number;
  bytesWritten: number;
  bytesCleared: number;
  putPageCalls: number;
  putPageFromUrlCalls: number;
  clearPageCalls: number;
}

export function emptyTotals(): CopyTotals {
  return { bytesRead: 0, bytesWritten: 0, bytesCleared: 0, putPageCalls: 0, putPageFromUrlCalls: 0, clearPageCalls: 0 };
}

/** Adds one chunk result's counters into `total`. */
export function addTotals(total: CopyTotals, r: ChunkResult): CopyTotals {
  total.bytesRead += r.bytesRead;
  total.bytesWritten += r.bytesWritten;
  total.bytesCleared += r.bytesCleared;
  total.putPageCalls += r.putPageCalls;
  total.putPageFromUrlCalls += r.putPageFromUrlCalls;
  total.clearPageCalls += r.clearPageCalls;
  return total;
}

export function totalResults(results: readonly ChunkResult[]): CopyTotals {
  const total = emptyTotals();
  for (const r of results) addTotals(total, r);
  return total;
}
