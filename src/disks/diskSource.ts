/**
 * A disk that deltavault backs up. Two implementations: a page-blob VHD (pageBlobSource.ts)
 * and, later, a managed disk through Azure Resource Manager. Everything the engine needs
 * from a source goes through this interface, so the planner and the copier never know which
 * kind of disk they are reading.
 */
import { normalize, type ByteRange } from '../ranges/byteRange';

export interface SourceSnapshot {
  /** Opaque id of the snapshot within this source (a blob snapshot timestamp, an ARM id, …). */
  readonly id: string;
  readonly createdAt: Date;
  readonly sizeBytes: number;
  /** The job that created it, when deltavault created it. */
  readonly jobId?: string;
}

/**
 * How far `changedRangePages` can be trusted.
 * - `exact`: it lists (at most) the ranges written between the two snapshots (Azure).
 * - `superset`: it may list ranges that did not change (the Azurite emulator lists every valid
 *   range); the copier then compares with the vault before it writes.
 */
export type DiffFidelity = 'exact' | 'superset';

export interface RangeDiff {
  readonly changed: ByteRange[];
  /** Ranges the service reported as cleared; may be empty even when pages were cleared. */
  readonly cleared: ByteRange[];
}

/**
 * Where the storage service itself can read a snapshot (the source of Put Page From URL).
 * `url` may carry a SAS: it is a secret, never logged or stored.
 */
export interface CopySource {
  readonly url: string;
  /** A bearer token for the source, when the URL carries no SAS. */
  readonly authorization?: { scheme: 'Bearer'; value: string };
}

/** Reads one snapshot; for managed disks it holds a short-lived read grant until closed. */
export interface SnapshotReader {
  /** Reads `range` (≤ 4 MiB) into `target` at `targetOffset`. Unallocated pages read as zeros. */
  readInto(range: ByteRange, target: Buffer, targetOffset: number, abortSignal?: AbortSignal): Promise<void>;
  /**
   * Where the service can fetch the same bytes, so a writer can copy server-side; undefined
   * when the reader has no way to authorize the service (an anonymous client without a SAS).
   */
  copySource?(): Promise<CopySource | undefined>;
  close(): Promise<void>;
}

export interface DiskSource {
  readonly kind: 'pageBlob' | 'managedDisk';
  /** Human-readable and safe to log: never contains a SAS token or key. */
  readonly description: string;
  diffFidelity(): Promise<DiffFidelity>;
  /** Creates a crash-consistent snapshot tagged with `jobId`; a retry with the same job id returns the snapshot it already made. */
  createSnapshot(jobId: string): Promise<SourceSnapshot>;
  findSnapshot(jobId: string): Promise<SourceSnapshot | undefined>;
  /** The snapshots deltavault made of this disk, oldest first. */
  listSnapshots(): Promise<SourceSnapshot[]>;
  getSnapshot(snapshotId: string): Promise<SourceSnapshot>;
  deleteSnapshot(snapshotId: string): Promise<void>;
  /**
   * Allocated (written, not cleared) ranges of a snapshot, and the ranges changed between two
   * snapshots of this disk: page by page, in offset order, so a planner never holds a whole
   * list (a fragmented disk has millions of ranges; `collectRanges` / `collectDiff` gather one).
   * Ranges within a page are sorted by start; a page's changed and cleared ranges each are,
   * and later pages start after earlier ones.
   */
  allocatedRangePages(snapshotId: string, abortSignal?: AbortSignal): AsyncIterable<ByteRange[]>;
  changedRangePages(prevSnapshotId: string, snapshotId: string, abortSignal?: AbortSignal): AsyncIterable<RangeDiff>;
  openReader(snapshotId: string): Promise<SnapshotReader>;
}

/** A paged range listing gathered into one normalized list. */
export async function collectRanges(pages: AsyncIterable<ByteRange[]>): Promise<ByteRange[]> {
  const ranges: ByteRange[] = [];
  for await (const page of pages) for (const r of page) ranges.push(r);
  return normalize(ranges);
}

/** A paged diff gathered into normalized changed and cleared lists. */
export async function collectDiff(pages: AsyncIterable<RangeDiff>): Promise<RangeDiff> {
  const changed: ByteRange[] = [];
  const cleared: ByteRange[] = [];
  for await (const page of pages) {
    for (const r of page.changed) changed.push(r);
    for (const r of page.cleared) cleared.push(r);
  }
  return { changed: normalize(changed), cleared: normalize(cleared) };
}

/** A listing answered whole, as one page (an override that knows the whole list). */
export async function* onePage<T>(list: () => Promise<T>): AsyncGenerator<T, void, undefined> {
  yield await list();
}
