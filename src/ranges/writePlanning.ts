/**
 * Turning range lists into work: splitting them into Put Page sized writes, mapping them onto
 * fixed-size blocks, and partitioning blocks into chunks that one worker can handle.
 */
import { errors } from '../errors';
import { assertNormalized, assertPageAligned, ByteRange, PAGE_BYTES, RangeList } from './byteRange';

/** The largest body one Put Page call accepts. */
export const MAX_PUT_PAGE_BYTES = 4 * 1024 * 1024;

/** Default cap on the number of index ranges one chunk may hold. */
export const DEFAULT_MAX_RANGES_PER_CHUNK = 50_000;

function assertPageMultiple(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0 || value % PAGE_BYTES !== 0) {
    throw errors.invalidRange(
      `${what} must be a positive multiple of ${String(PAGE_BYTES)} bytes, got ${String(value)}`,
      { what, value },
    );
  }
}

function assertPositiveInteger(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw errors.invalidRange(`${what} must be a positive integer, got ${String(value)}`, { what, value });
  }
}

/** floor(x / d) computed exactly for non-negative safe integers. */
function floorDiv(x: number, d: number): number {
  return (x - (x % d)) / d;
}

function* splitRanges(ranges: RangeList, maxBytes: number): Generator<ByteRange> {
  for (const r of ranges) {
    for (let s = r.start; s < r.end; s += maxBytes) {
      const e = s + maxBytes;
      yield { start: s, end: e < r.end ? e : r.end };
    }
  }
}

/**
 * Split each range (normalized, 512-aligned — asserted) into pieces of at most `maxBytes`
 * (a positive multiple of 512, default MAX_PUT_PAGE_BYTES). Pieces are contiguous, ordered and
 * cover exactly the input. The arguments are validated eagerly, when this is called (an O(n)
 * pass that allocates nothing); the pieces are then produced lazily so huge lists stream.
 */
export function splitForWrites(ranges: RangeList, maxBytes: number = MAX_PUT_PAGE_BYTES): Generator<ByteRange> {
  assertPageMultiple(maxBytes, 'splitForWrites: maxBytes');
  assertNormalized(ranges, 'splitForWrites: ranges');
  assertPageAligned(ranges, 'splitForWrites: ranges');
  return splitRanges(ranges, maxBytes);
}

/**
 * The block indices (block i = [i*blockBytes, (i+1)*blockBytes)) that any byte of `ranges`
 * touches, as a normalized list of index ranges [firstIndex, lastIndex+1). `ranges` must be
 * normalized (it need not be aligned); blockBytes must be a positive multiple of 512.
 */
export function touchedBlocks(ranges: RangeList, blockBytes: number): ByteRange[] {
  assertPageMultiple(blockBytes, 'touchedBlocks: blockBytes');
  assertNormalized(ranges, 'touchedBlocks: ranges');
  const out: ByteRange[] = [];
  let curStart = -1;
  let curEnd = -1;
  for (const r of ranges) {
    const first = floorDiv(r.start, blockBytes);
    const after = floorDiv(r.end - 1, blockBytes) + 1;
    if (curEnd >= first) {
      if (after > curEnd) curEnd = after;
    } else {
      if (curStart >= 0) out.push({ start: curStart, end: curEnd });
      curStart = first;
      curEnd = after;
    }
  }
  if (curStart >= 0) out.push({ start: curStart, end: curEnd });
  return out;
}

export interface Chunk {
  readonly index: number;
  readonly blocks: ByteRange[];
  readonly bytes: number;
}

/**
 * Partition a normalized list of block-index ranges into consecutive chunks, in order, each
 * holding at most floor(budgetBytes / blockBytes) blocks (at least 1 block per chunk even if
 * budgetBytes < blockBytes) and at most `maxRangesPerChunk` index ranges (default 50_000),
 * never splitting a block. `bytes` = number of blocks in the chunk × blockBytes. Every input
 * block appears in exactly one chunk; chunk indices are 0..n-1. Chunks are filled greedily:
 * every chunk but the last is full (by block count or by range count).
 */
export function partitionBlocks(
  blocks: RangeList,
  blockBytes: number,
  budgetBytes: number,
  maxRangesPerChunk: number = DEFAULT_MAX_RANGES_PER_CHUNK,
): Chunk[] {
  assertPageMultiple(blockBytes, 'partitionBlocks: blockBytes');
  assertPositiveInteger(budgetBytes, 'partitionBlocks: budgetBytes');
  assertPositiveInteger(maxRangesPerChunk, 'partitionBlocks: maxRangesPerChunk');
  assertNormalized(blocks, 'partitionBlocks: blocks');
  const capacity = Math.max(1, floorDiv(budgetBytes, blockBytes));
  const chunks: Chunk[] = [];
  let current: ByteRange[] = [];
  let count = 0;
  const flush = (): void => {
    chunks.push({ index: chunks.length, blocks: current, bytes: count * blockBytes });
    current = [];
    count = 0;
  };
  for (const r of blocks) {
    let s = r.start;
    while (s < r.end) {
      if (count === capacity || current.length === maxRangesPerChunk) flush();
      const room = capacity - count;
      const take = r.end - s < room ? r.end - s : room;
      current.push({ start: s, end: s + take });
      count += take;
      s += take;
    }
  }
  if (count > 0) flush();
  return chunks;
}
