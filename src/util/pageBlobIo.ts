/** Reads and writes of page-blob ranges into caller-owned buffers (fixed memory), plus service detection. */
import type { PageBlobClient } from '@azure/storage-blob';
import type { ByteRange } from '../ranges/byteRange';
import type { DiffFidelity } from '../disks/diskSource';
import { errors } from '../errors';
import { describeBlob } from './pageBlobRanges';

/** Reads `range` of a page blob into `target` at `targetOffset` with one ranged GET. */
export async function readPageBlobInto(
  blob: PageBlobClient,
  range: ByteRange,
  target: Buffer,
  targetOffset: number,
  abortSignal?: AbortSignal,
): Promise<void> {
  const count = range.end - range.start;
  const window = target.subarray(targetOffset, targetOffset + count);
  if (window.length !== count) throw errors.invalidRange(`read of ${count} bytes does not fit the buffer at offset ${targetOffset}`);
  try {
    // downloadToBuffer fills the buffer it is given from its first byte: hand it the window.
    await blob.downloadToBuffer(window, range.start, count, {
      abortSignal,
      blockSize: count,
      concurrency: 1,
      maxRetryRequestsPerBlock: 3,
    });
  } catch (e) {
    throw errors.storage(`reading bytes ${range.start}-${range.end - 1} of ${describeBlob(blob)}`, e);
  }
}

/**
 * The Azurite emulator answers `Get Page Ranges Diff` with every valid range (it ignores
 * `prevsnapshot`), so its diff is only a superset of what changed. Azure's is exact.
 */
export async function detectFidelity(blob: PageBlobClient): Promise<DiffFidelity> {
  try {
    const props = await blob.getProperties();
    const server = props._response.headers.get('server') ?? '';
    return /azurite/i.test(server) ? 'superset' : 'exact';
  } catch (e) {
    throw errors.storage(`probing the storage service of ${describeBlob(blob)}`, e);
  }
}
