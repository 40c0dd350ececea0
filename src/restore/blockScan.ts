/**
 * Walks a page blob block by block against a recovery point's hash list: reads each block's
 * allocated ranges (unallocated pages are zeros), hashes it, and compares with the manifest —
 * a block the manifest does not list must read as all zeros. Restore and verify both use it.
 * Fixed memory: blocks stream in order from a merge of the blob's ranges and the hash list,
 * at most `concurrency` in flight, one 4 MiB buffer each.
 */
import { createHash } from 'node:crypto';
import type { ByteRange } from '../ranges/byteRange';
import { clip } from '../ranges/byteRange';
import { touchedBlocks } from '../ranges/writePlanning';
import type { BlockHash } from '../vault/blockHashList';
import { forEachBounded } from '../util/boundedPool';
import { coalesce, zeroHash } from '../backup/copyChunk';

export interface ScannedBlock {
  readonly index: number;
  readonly start: number;
  /** The block's bytes (a view valid only during the callback). */
  readonly data: Buffer;
  /** Allocated ranges of the scanned blob inside this block. */
  readonly allocated: ByteRange[];
  readonly ok: boolean;
}

export interface ScanInput {
  readInto(range: ByteRange, target: Buffer, targetOffset: number): Promise<void>;
  allocated: readonly ByteRange[];
  hashes: AsyncIterable<BlockHash>;
  sizeBytes: number;
  blockBytes: number;
  concurrency: number;
  onBlock?: (block: ScannedBlock) => Promise<void>;
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
  await forEachBounded(blocksToScan(input.allocated, input.hashes, blockBytes), input.concurrency, async ({ index, expected }) => {
    const start = index * blockBytes;
    const end = Math.min(start + blockBytes, sizeBytes);
    const buffer = free.pop() ?? Buffer.allocUnsafe(blockBytes);
    try {
      const data = buffer.subarray(0, end - start);
      data.fill(0);
      const allocated = clip(input.allocated, start, end);
      for (const read of coalesce(allocated, 256 * 1024)) {
        await input.readInto(read, data, read.start - start);
        result.bytesRead += read.end - read.start;
      }
      const actual = createHash('sha256').update(data).digest('hex');
      const ok = actual === (expected ? expected.toString('hex') : zeroHash(end - start));
      result.blocksChecked++;
      if (!ok) result.badBlocks.push(index);
      await input.onBlock?.({ index, start, data, allocated, ok });
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
