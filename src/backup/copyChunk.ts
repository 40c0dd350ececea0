/**
 * Step 3 of the data path: copy one chunk of a plan into the vault base blob. Works block by
 * block (4 MiB, the hash unit), with at most `concurrency` blocks in flight and two 4 MiB
 * buffers per block slot, so memory is fixed whatever the disk or delta size:
 *   read the block's allocated ranges from the source snapshot → hash the block →
 *   write its changed ranges (Put Page) → clear its cleared ranges (Clear Page).
 * With a `superset` diff (the emulator), changed ranges are first compared with what the base
 * already holds and only differing pages are written. Every write is idempotent, and the chunk
 * result (the done marker) is written last, so a retried chunk simply runs again.
 */
import { createHash } from 'node:crypto';
import type { DiskSource, SnapshotReader } from '../disks/diskSource';
import { ByteRange, PAGE_BYTES, clip, intersect, normalize, subtract, totalBytes } from '../ranges/byteRange';
import { blockSpans, windowsOf } from '../util/windows';
import { forEachBounded } from '../util/boundedPool';
import { readPageBlobInto } from '../util/pageBlobIo';
import { errors } from '../errors';
import { holdLease } from '../vault/baseLease';
import { readJson, writeJson } from '../vault/jsonBlob';
import { readChain } from '../vault/chainState';
import type { VaultDisk } from '../vault/vaultDisk';
import { WINDOW_BYTES, vaultPaths } from '../vault/vaultLayout';
import { ChunkResult, chunkRangesSchema, chunkResultSchema, fromTuples } from './jobDocuments';
import { readPlan } from './planBackup';

export const DEFAULT_COPY_CONCURRENCY = 8;
/** Allocated ranges closer than this are fetched with one GET (the gap reads as zeros). */
const COALESCE_GAP_BYTES = 256 * 1024;

export interface CopyChunkOptions {
  concurrency?: number;
  abortSignal?: AbortSignal;
  /** Called after each block with the bytes of source it covered. */
  onProgress?: (bytesDone: number) => void;
}

export async function copyChunk(
  source: DiskSource,
  vault: VaultDisk,
  jobId: string,
  chunkIndex: number,
  options: CopyChunkOptions = {},
): Promise<ChunkResult> {
  const { container, diskKey } = vault;
  const done = await readJson(container, vaultPaths.chunkDone(diskKey, jobId, chunkIndex), chunkResultSchema);
  if (done) return done.value;
  const plan = await readPlan(vault, jobId);
  const found = await readJson(container, vaultPaths.chunk(diskKey, jobId, chunkIndex), chunkRangesSchema);
  if (!found) throw errors.notFound('chunk', `${diskKey}/${jobId}/${chunkIndex}`);
  const ranges = {
    blocks: fromTuples(found.value.blocks),
    changed: fromTuples(found.value.changed),
    cleared: fromTuples(found.value.cleared),
    allocated: fromTuples(found.value.allocated),
    baseAllocated: fromTuples(found.value.baseAllocated),
  };
  const blockBytes = plan.blockBytes;
  const sizeBytes = plan.source.sizeBytes;
  const compare = plan.fidelity === 'superset';
  const previousHashes = found.value.previousHashes ? new Map(found.value.previousHashes) : undefined;
  const concurrency = options.concurrency ?? DEFAULT_COPY_CONCURRENCY;

  const result: ChunkResult = {
    index: chunkIndex,
    bytesRead: 0,
    bytesWritten: 0,
    bytesCleared: 0,
    putPageCalls: 0,
    clearPageCalls: 0,
    hashes: [],
  };
  const hashes = new Map<number, string>();
  const buffers = new BufferPool(WINDOW_BYTES, compare ? 2 : 1);

  const lease = await holdLease(vault.base, diskKey, jobId);
  let reader: SnapshotReader | undefined;
  try {
    // Under the lease: a job whose chain moved on (another job sealed since it planned) is stale
    // and must not write the base.
    const chain = await readChain(container, diskKey);
    if ((chain.etag ?? null) !== plan.chainEtag) throw errors.chainConflict(diskKey);
    reader = await source.openReader(plan.source.snapshotId);
    const openReader = reader;
    const conditions = { leaseId: lease.leaseId };
    const blocksPerWindow = WINDOW_BYTES / blockBytes;
    const touched = (function* () {
      for (const index of blockIndices(ranges.blocks)) yield { index };
    })();
    await forEachBounded(windowsOf(touched, blocksPerWindow), concurrency, async ({ window, items }) => {
      options.abortSignal?.throwIfAborted();
      const start = window * WINDOW_BYTES;
      const end = Math.min(start + WINDOW_BYTES, sizeBytes);
      const blocks = items.map((i) => i.index);
      const region = blockSpans(blocks, blockBytes, sizeBytes);
      const allocated = intersect(clip(ranges.allocated, start, end), region);
      const changed = clip(ranges.changed, start, end);
      const cleared = clip(ranges.cleared, start, end);
      const [data, base] = buffers.take();
      try {
        data.fill(0, 0, end - start);
        for (const read of coalesce(allocated, COALESCE_GAP_BYTES)) {
          await openReader.readInto(read, data, read.start - start, options.abortSignal);
          result.bytesRead += read.end - read.start;
        }
        const unchanged: ByteRange[] = [];
        for (const block of blocks) {
          const from = block * blockBytes;
          const to = Math.min(from + blockBytes, sizeBytes);
          const hash = createHash('sha256').update(data.subarray(from - start, to - start)).digest('hex');
          if (clip(allocated, from, to).length > 0) hashes.set(block, hash);
          // Superset diff, and the base still holds the previous point: a block that hashes the
          // same as it did there has not changed.
          if (compare && previousHashes && hash === (previousHashes.get(block) ?? zeroHash(to - from))) unchanged.push({ start: from, end: to });
        }
        let writes = subtract(changed, normalize(unchanged));
        if (compare && base && writes.length > 0) {
          // Only pages the base holds need reading: the rest of it reads as zeros.
          base.fill(0, 0, end - start);
          for (const read of coalesce(intersect(writes, clip(ranges.baseAllocated, start, end)), COALESCE_GAP_BYTES)) {
            await readPageBlobInto(vault.base, read, base, read.start - start, options.abortSignal);
            result.bytesRead += read.end - read.start;
          }
          writes = differingPages(writes, data, base, start);
        }
        for (const w of writes) {
          const length = w.end - w.start;
          await vault.base.uploadPages(data.subarray(w.start - start, w.end - start), w.start, length, {
            conditions,
            abortSignal: options.abortSignal,
          });
          result.putPageCalls++;
          result.bytesWritten += length;
        }
        for (const c of cleared) {
          await vault.base.clearPages(c.start, c.end - c.start, { conditions, abortSignal: options.abortSignal });
          result.clearPageCalls++;
          result.bytesCleared += c.end - c.start;
        }
      } finally {
        buffers.give([data, base]);
      }
      options.onProgress?.(totalBytes(region));
    });
  } catch (e) {
    throw e instanceof Error && e.name === 'DeltavaultError' ? e : errors.storage(`copying chunk ${chunkIndex} of job ${jobId}`, e);
  } finally {
    await reader?.close();
    await lease.stop(false);
  }
  result.hashes = [...hashes.entries()].sort((a, b) => a[0] - b[0]);
  await writeJson(container, vaultPaths.chunkDone(diskKey, jobId, chunkIndex), result, 'overwrite');
  return result;
}

const zeroHashes = new Map<number, string>();
/** SHA-256 of `bytes` zero bytes (the hash of a block that holds no data). */
export function zeroHash(bytes: number): string {
  let hash = zeroHashes.get(bytes);
  if (!hash) {
    hash = createHash('sha256').update(Buffer.alloc(bytes)).digest('hex');
    zeroHashes.set(bytes, hash);
  }
  return hash;
}

function* blockIndices(blocks: readonly ByteRange[]): Generator<number> {
  for (const b of blocks) for (let i = b.start; i < b.end; i++) yield i;
}

/** Merges ranges whose gap is at most `maxGap` (all inside one block, so each result is ≤ 4 MiB). */
export function coalesce(ranges: readonly ByteRange[], maxGap: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r.start - last.end <= maxGap) out[out.length - 1] = { start: last.start, end: r.end };
    else out.push(r);
  }
  return out;
}

/** The pages within `ranges` where `data` and `base` differ (both buffers start at `offset`). */
export function differingPages(ranges: readonly ByteRange[], data: Buffer, base: Buffer, offset: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) {
    const a = data.subarray(r.start - offset, r.end - offset);
    const b = base.subarray(r.start - offset, r.end - offset);
    if (a.equals(b)) continue;
    for (let p = r.start; p < r.end; p += PAGE_BYTES) {
      const from = p - offset;
      if (data.compare(base, from, from + PAGE_BYTES, from, from + PAGE_BYTES) !== 0) out.push({ start: p, end: p + PAGE_BYTES });
    }
  }
  return normalize(out);
}

/** Reusable block buffers: at most one set per block in flight. */
class BufferPool {
  private readonly free: [Buffer, Buffer | undefined][] = [];
  constructor(
    private readonly bytes: number,
    private readonly perSlot: 1 | 2,
  ) {}
  take(): [Buffer, Buffer | undefined] {
    return this.free.pop() ?? [Buffer.allocUnsafe(this.bytes), this.perSlot === 2 ? Buffer.allocUnsafe(this.bytes) : undefined];
  }
  give(set: [Buffer, Buffer | undefined]): void {
    this.free.push(set);
  }
}
