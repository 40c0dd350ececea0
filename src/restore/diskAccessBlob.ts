/**
 * A managed disk's bytes through the access URL (SAS) a grant returned: list, read and write
 * pages. The URL stays inside this object (a private field); every error names the disk's
 * resource id and the operation, with the storage error code and status only.
 */
import { AnonymousCredential, PageBlobClient } from '@azure/storage-blob';
import type { ByteRange } from '../ranges/byteRange';
import { normalize } from '../ranges/byteRange';
import { DeltavaultError, storageCode, storageStatus } from '../errors';
import type { CopySource } from '../disks/diskSource';
import { PageWriter } from '../util/pageWriter';

const PAGE_LIST_PAGE_SIZE = 5000;

export class DiskAccessBlob {
  readonly #blob: PageBlobClient;
  #writer?: { source: () => Promise<CopySource | undefined>; writer: PageWriter };

  constructor(
    accessSas: string,
    /** The disk's ARM resource id, for errors. */
    readonly diskId: string,
  ) {
    this.#blob = new PageBlobClient(accessSas, new AnonymousCredential());
  }

  private writerFor(copySource: () => Promise<CopySource | undefined>): PageWriter {
    if (this.#writer?.source !== copySource) this.#writer = { source: copySource, writer: new PageWriter(this.#blob, { copySource }) };
    return this.#writer.writer;
  }

  private fail(operation: string, e: unknown): DeltavaultError {
    const status = storageStatus(e);
    const code = storageCode(e) ?? (status === undefined && e instanceof Error ? e.name : 'error');
    return new DeltavaultError(
      'STORAGE_FAILED',
      `${operation} of managed disk '${this.diskId}' through its access URL failed: ${code}${status === undefined ? '' : ` (HTTP ${status})`}`,
      { details: { operation, resource: this.diskId, status, storageCode: storageCode(e) } },
    );
  }

  async sizeBytes(): Promise<number> {
    try {
      return (await this.#blob.getProperties()).contentLength ?? 0;
    } catch (e) {
      throw this.fail('reading the size', e);
    }
  }

  /** Allocated ranges inside `[start, end)` (normalized). */
  async allocated(start: number, end: number): Promise<ByteRange[]> {
    const ranges: ByteRange[] = [];
    if (end <= start) return ranges;
    try {
      for await (const page of this.#blob.listPageRanges(start, end - start).byPage({ maxPageSize: PAGE_LIST_PAGE_SIZE })) {
        for (const r of page.pageRange ?? []) ranges.push({ start: Math.max(r.start, start), end: Math.min(r.end + 1, end) });
      }
    } catch (e) {
      throw this.fail('listing the page ranges', e);
    }
    return normalize(ranges.filter((r) => r.end > r.start));
  }

  /** Reads `range` into `target` at `targetOffset` (one ranged GET). */
  async readInto(range: ByteRange, target: Buffer, targetOffset: number): Promise<void> {
    const count = range.end - range.start;
    const window = target.subarray(targetOffset, targetOffset + count);
    try {
      await this.#blob.downloadToBuffer(window, range.start, count, { blockSize: count, concurrency: 1, maxRetryRequestsPerBlock: 3 });
    } catch (e) {
      throw this.fail(`reading bytes ${range.start}-${range.end - 1}`, e);
    }
  }

  /**
   * Writes `data` (at most 4 MiB, whole pages) at `offset`. Given `copySource` (where the same
   * bytes are, at the same offsets), the disk's service fetches them itself (Put Page From URL)
   * where it can; else Put Page of `data`.
   */
  async write(data: Buffer, offset: number, copySource?: () => Promise<CopySource | undefined>): Promise<void> {
    try {
      if (copySource) await this.writerFor(copySource).write({ start: offset, end: offset + data.length }, data);
      else await this.#blob.uploadPages(data, offset, data.length);
    } catch (e) {
      throw this.fail(`writing bytes ${offset}-${offset + data.length - 1}`, e);
    }
  }
}
