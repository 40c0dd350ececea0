/**
 * Walks a page blob block by block against a recovery point's hash list: reads each block's
 * allocated ranges (unallocated pages are zeros), hashes it, and compares with the manifest —
 * a block the manifest does not list must read as all zeros. Restore and verify both use it.
 * Fixed memory: blocks stream in order from a merge of the blob's ranges and the hash list,
 * grouped into 4 MiB windows (one GET covers several blocks), at most `concurrency` windows in
 * flight, one 4 MiB buffer each.
 */
import { createHash } from 'node:crypto';
import type { ByteRange } from '../ranges/byteRange';
import { clip, intersect, normalize } from '../ranges/byteRange';
import { blockSpans, windowsOf } from '../util/windows';
import { WINDOW_BYTES } from '../vault/vaultLayout';
import { touchedBlocks } from '../ranges/writePlanning';
import type { ContainerClient } from '@azure/storage-blob';
import { readBlockHashes, type BlockHash } from '../vault/blockHashList';
import { hashListExpectation, type Manifest } from '../vault/manifest';
import { forEachBounded } from '../util/boundedPool';
import { coalesce, zeroHash } from '../backup/copyChunk';

export interface ScannedWindow {
  /** Byte offset of `data` in the blob (a multiple of WINDOW_BYTES). */
  readonly start: number;
  /** The window's bytes (a view valid only during the callback); only the scanned blocks are filled. */
  readonly data: Buffer;
  /** Allocated ranges of the scanned blob inside the scanned blocks that hashed right. */
  readonly goodAllocated: ByteRange[];
}

export interface ScanInput {
  readInto(range: ByteRange, target: Buffer, targetOffset: number): Promise<void>;
  allocated: readonly ByteRange[];
  hashes: AsyncIterable<BlockHash>;
  sizeBytes: number;
  blockBytes: number;
  concurrency: number;
  onWindow?: (window: ScannedWindow) => Promise<void>;
}

export interface ScanResult {
  blocksChecked: number;
  badBlocks: number[];
  bytesRead: number;
}

export async function scanBlocks(input: ScanInput): Promise<ScanResult> {
  const { blockBytes, sizeBytes } = input;
  const result: ScanResult = { blocksChecked: 0, badBlocks: [], bytesRead: 0 };
  const free: Buffer[] = [];
  const windows = windowsOf(blocksToScan(input.allocated, input.hashes, blockBytes), WINDOW_BYTES / blockBytes);
  await forEachBounded(windows, input.concurrency, async ({ window, items }) => {
    const start = window * WINDOW_BYTES;
    const end = Math.min(start + WINDOW_BYTES, sizeBytes);
    const buffer = free.pop() ?? Buffer.allocUnsafe(WINDOW_BYTES);
    try {
      const data = buffer.subarray(0, end - start);
      data.fill(0);
      const region = blockSpans(items.map((i) => i.index), blockBytes, sizeBytes);
      const allocated = intersect(clip(input.allocated, start, end), region);
      for (const read of coalesce(allocated, 256 * 1024)) {
        await input.readInto(read, data, read.start - start);
        result.bytesRead += read.end - read.start;
      }
      const good: ByteRange[] = [];
      for (const { index, expected } of items) {
        const from = index * blockBytes;
        const to = Math.min(from + blockBytes, sizeBytes);
        const actual = createHash('sha256').update(data.subarray(from - start, to - start)).digest('hex');
        result.blocksChecked++;
        if (actual === (expected ? expected.toString('hex') : zeroHash(to - from))) good.push({ start: from, end: to });
        else result.badBlocks.push(index);
      }
      await input.onWindow?.({ start, data, goodAllocated: intersect(allocated, normalize(good)) });
    } finally {
      free.push(buffer);
    }
  });
  result.badBlocks.sort((a, b) => a - b);
  return result;
}

/** Ascending union of the blocks the blob has data in and the blocks the manifest lists. */
async function* blocksToScan(
  allocated: readonly ByteRange[],
  hashes: AsyncIterable<BlockHash>,
  blockBytes: number,
): AsyncGenerator<{ index: number; expected?: Buffer }> {
  const withData = (function* () {
    for (const r of touchedBlocks(allocated, blockBytes)) for (let i = r.start; i < r.end; i++) yield i;
  })();
  let data = withData.next();
  for await (const record of hashes) {
    while (!data.done && data.value < record.index) {
      yield { index: data.value };
      data = withData.next();
    }
    if (!data.done && data.value === record.index) data = withData.next();
    yield { index: record.index, expected: record.hash };
  }
  while (!data.done) {
    yield { index: data.value };
    data = withData.next();
  }
}

/**
 * scanBlocks against a recovery point: its hash list (streamed from the vault), its size and
 * block size from its manifest.
 */
export function scanAgainstManifest(
  container: ContainerClient,
  manifest: Manifest,
  input: Pick<ScanInput, 'readInto' | 'allocated' | 'concurrency' | 'onWindow'> & {
    /** Only the blocks in this byte range (block-aligned): one slice of a restore or verify. */
    range?: ByteRange;
  },
): Promise<ScanResult> {
  const blockBytes = manifest.blocks.sizeBytes;
  const hashes = readBlockHashes(container, manifest.blocks.blob, hashListExpectation(manifest));
  const { range, ...rest } = input;
  if (!range) return scanBlocks({ ...rest, hashes, sizeBytes: manifest.sizeBytes, blockBytes });
  if (range.start % blockBytes !== 0 || (range.end % blockBytes !== 0 && range.end !== manifest.sizeBytes)) {
    throw new RangeError(`scan range ${range.start}-${range.end} is not aligned to the ${blockBytes}-byte blocks`);
  }
  const first = range.start / blockBytes;
  const end = Math.ceil(range.end / blockBytes);
  return scanBlocks({
    ...rest,
    allocated: clip(input.allocated, range.start, range.end),
    hashes: (async function* () {
      for await (const record of hashes) {
        if (record.index >= end) break;
        if (record.index >= first) yield record;
      }
    })(),
    sizeBytes: manifest.sizeBytes,
    blockBytes,
  });
}
