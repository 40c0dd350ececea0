/**
 * Step 3 of the data path: copy one chunk of a plan into the vault base blob. Works block by
 * block (4 MiB, the hash unit), with at most `concurrency` blocks in flight and two 4 MiB
 * buffers per block slot, so memory is fixed whatever the disk or delta size:
 *   read the block's allocated ranges from the source snapshot → hash the block →
 *   write its changed ranges → clear its cleared ranges (Clear Page).
 * Writes are Put Page From URL where the vault service can fetch the source snapshot itself
 * (Azure: the Function uploads nothing), else Put Page with the bytes read (Azurite answers
 * 501); see util/pageWriter.ts. The bytes read are what is hashed either way.
 * With a `superset` diff (the emulator), changed ranges are first compared with what the base
 * already holds and only differing pages are written. Every write is idempotent, and the chunk
 * result (the done marker) is written last, so a retried chunk simply runs again.
 */
import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import type { DiskSource, SnapshotReader } from '../disks/diskSource';
import { ByteRange, PAGE_BYTES, clip, intersect, normalize, subtract, totalBytes } from '../ranges/byteRange';
import { blockSpans, windowsOf } from '../util/windows';
import { forEachBounded } from '../util/boundedPool';
import { readPageBlobInto } from '../util/pageBlobIo';
import { PageWriter } from '../util/pageWriter';
import { errors } from '../errors';
import { holdLease } from '../vault/baseLease';
import { assertBaseWriter } from '../vault/baseWriter';
import { readJson, writeJson } from '../vault/jsonBlob';
import { readChain } from '../vault/chainState';
import type { VaultDisk } from '../vault/vaultDisk';
import { WINDOW_BYTES, vaultPaths } from '../vault/vaultLayout';
import { ChunkResult, chunkRangesSchema, chunkResultSchema, fromTuples, planSchema } from './jobDocuments';

export const DEFAULT_COPY_CONCURRENCY = 8;
/** Allocated ranges closer than this are fetched with one GET (the gap reads as zeros). */
const COALESCE_GAP_BYTES = 256 * 1024;
/**
 * Writes closer than this are sent as one Put Page when the source holds data all the way
 * between them: the gap's bytes were read from the source, so writing them again is correct
 * (the base must equal the source there anyway) and costs less than another request.
 */
const WRITE_GAP_BYTES = 256 * 1024;
/** Windows read ahead of the request pool (each holds one or two 4 MiB buffers). */
const WINDOWS_AHEAD = 4;

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
  // One round trip: the done marker, the plan and the chunk's ranges are read together.
  const [done, planFound, found] = await Promise.all([
    readJson(container, vaultPaths.chunkDone(diskKey, jobId, chunkIndex), chunkResultSchema),
    readJson(container, vaultPaths.plan(diskKey, jobId), planSchema),
    readJson(container, vaultPaths.chunk(diskKey, jobId, chunkIndex), chunkRangesSchema),
  ]);
  if (done) return done.value;
  if (!planFound) throw errors.notFound('backup plan', `${diskKey}/${jobId}`);
  const plan = planFound.value;
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
    putPageFromUrlCalls: 0,
    clearPageCalls: 0,
    hashes: [],
  };
  const hashes = new Map<number, string>();
  const buffers = new BufferPool(WINDOW_BYTES);

  const lease = await holdLease(vault.base, diskKey, jobId);
  let reader: SnapshotReader | undefined;
  try {
    // Under the lease: a job whose chain moved on (another job sealed since it planned), or whose
    // base another job has planned against since, is stale and must not write the base.
    const [chain, baseProperties] = await Promise.all([
      readChain(container, diskKey),
      vault.base.getProperties().catch((e: unknown) => {
        throw errors.storage(`reading the vault base blob of ${diskKey}`, e);
      }),
    ]);
    if ((chain.etag ?? null) !== plan.chainEtag) throw errors.chainConflict(diskKey);
    assertBaseWriter(baseProperties, diskKey, jobId);
    reader = await source.openReader(plan.source.snapshotId);
    const openReader = reader;
    const conditions = { leaseId: lease.leaseId };
    // Writes go server-side where the vault service can fetch the source itself (Azure); the
    // bytes read here are still what is hashed, and what is uploaded where it cannot.
    const writer = new PageWriter(vault.base, { copySource: openReader.copySource?.bind(openReader), leaseId: lease.leaseId, abortSignal: options.abortSignal });
    const blocksPerWindow = WINDOW_BYTES / blockBytes;
    const touched = (function* () {
      for (const index of blockIndices(ranges.blocks)) yield { index };
    })();
    // Windows in flight hold the buffers (fixed memory); requests in flight are bounded
    // separately, so one window's reads, writes and clears go out together, and a window
    // reads while others write.
    const request = pLimit(concurrency);
    await forEachBounded(windowsOf(touched, blocksPerWindow), concurrency + WINDOWS_AHEAD, async ({ window, items }) => {
      options.abortSignal?.throwIfAborted();
      const start = window * WINDOW_BYTES;
      const end = Math.min(start + WINDOW_BYTES, sizeBytes);
      const blocks = items.map((i) => i.index);
      const region = blockSpans(blocks, blockBytes, sizeBytes);
      const allocated = intersect(clip(ranges.allocated, start, end), region);
      const changed = clip(ranges.changed, start, end);
      const cleared = clip(ranges.cleared, start, end);
      const data = buffers.take();
      let base: Buffer | undefined;
      try {
        data.fill(0, 0, end - start);
        const reads = coalesce(allocated, COALESCE_GAP_BYTES);
        await settleAll(reads.map((read) => request(() => openReader.readInto(read, data, read.start - start, options.abortSignal))));
        for (const read of reads) result.bytesRead += read.end - read.start;
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
        if (compare && writes.length > 0) {
          // Only pages the base holds need reading: the rest of it reads as zeros, so a window
          // whose base holds nothing is compared with zeros and needs no second buffer.
          const baseReads = coalesce(intersect(writes, clip(ranges.baseAllocated, start, end)), COALESCE_GAP_BYTES);
          let against = zeroWindow(end - start);
          if (baseReads.length > 0) {
            const buffer = (base = buffers.take());
            buffer.fill(0, 0, end - start);
            await settleAll(baseReads.map((read) => request(() => readPageBlobInto(vault.base, read, buffer, read.start - start, options.abortSignal))));
            for (const read of baseReads) result.bytesRead += read.end - read.start;
            against = buffer;
          }
          writes = differingPages(writes, data, against, start);
        }
        writes = bridgeGaps(writes, allocated, WRITE_GAP_BYTES);
        const calls = [
          ...writes.map((w) =>
            request(async () => {
              const route = await writer.write(w, data.subarray(w.start - start, w.end - start));
              if (route === 'server') result.putPageFromUrlCalls++;
              else result.putPageCalls++;
              result.bytesWritten += w.end - w.start;
            }),
          ),
          ...cleared.map((c) =>
            request(async () => {
              await vault.base.clearPages(c.start, c.end - c.start, { conditions, abortSignal: options.abortSignal });
              result.clearPageCalls++;
              result.bytesCleared += c.end - c.start;
            }),
          ),
        ];
        // Every call has settled before the buffers go back to the pool.
        await settleAll(calls);
      } finally {
        buffers.give(data);
        if (base) buffers.give(base);
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

/**
 * Merges consecutive writes whose gap is at most `maxGap` and lies wholly inside `allocated`
 * (source bytes that were read). Never bridges unallocated pages: writing zeros there would
 * allocate pages in the base that the source does not have.
 */
export function bridgeGaps(writes: readonly ByteRange[], allocated: readonly ByteRange[], maxGap: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const w of writes) {
    const last = out[out.length - 1];
    if (last && w.start - last.end <= maxGap && subtract([{ start: last.end, end: w.start }], allocated).length === 0) {
      out[out.length - 1] = { start: last.start, end: w.end };
    } else {
      out.push(w);
    }
  }
  return out;
}

/** Waits for every promise to settle, then throws the first failure (with the others attached). */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const outcomes = await Promise.allSettled(promises);
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
  if (failures.length === 0) return;
  const [first, ...rest] = failures;
  if (rest.length > 0 && first instanceof Error) Object.assign(first, { others: rest });
  throw first;
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

/** Reusable 4 MiB window buffers: one per window in flight, a second while its base is compared. */
class BufferPool {
  private readonly free: Buffer[] = [];
  constructor(private readonly bytes: number) {}
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.bytes);
  }
  give(buffer: Buffer): void {
    this.free.push(buffer);
  }
}

let zeros: Buffer | undefined;
/** A shared, never written buffer of zeros at least `bytes` long (a base window that holds nothing). */
function zeroWindow(bytes: number): Buffer {
  if (!zeros || zeros.length < bytes) zeros = Buffer.alloc(Math.max(bytes, WINDOW_BYTES));
  return zeros;
}
