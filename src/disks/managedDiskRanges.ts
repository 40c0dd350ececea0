/**
 * Page-range queries on a managed-disk snapshot's access URL, in offset windows.
 *
 * `Get Page Ranges Diff` with `x-ms-previous-snapshot-url` (getPageRangesDiffForManagedDisks)
 * takes no continuation marker, and the service has a fixed time to build its answer: Azure
 * Storage's guidance for large, fragmented page blobs is to ask for a subset of the ranges at a
 * time (it names 150 MB segments as safe for the most fragmented blob, and larger ones for less
 * fragmented blobs). So both the diff and the allocated-range listing ask window by window
 * (`DEFAULT_RANGE_WINDOW_BYTES`, injectable), a few windows at a time, and a window whose answer
 * was cut short (a continuation marker) or timed out on the server is asked again in halves,
 * down to `MIN_RANGE_WINDOW_BYTES`. Results are normalized `[start, end)` byte ranges.
 */
import { AnonymousCredential, PageBlobClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { ByteRange, normalize } from '../ranges/byteRange';

/** 16 GiB: 2,048 requests for the largest (32 TiB) disk, each on a range a sparse disk answers fast. */
export const DEFAULT_RANGE_WINDOW_BYTES = 16 * 1024 ** 3;
/** Windows are not split below this (the storage guidance's 150 MB, rounded down to 128 MiB). */
export const MIN_RANGE_WINDOW_BYTES = 128 * 1024 ** 2;
/** Windows asked at once. */
export const RANGE_WINDOWS_AT_ONCE = 4;

export interface WindowAnswer {
  readonly ranges: ByteRange[];
  readonly cleared: ByteRange[];
  /** The service cut the answer short (it returned a continuation marker). */
  readonly truncated: boolean;
}

export type WindowQuery = (offset: number, count: number, abortSignal?: AbortSignal) => Promise<WindowAnswer>;

export interface WindowedOptions {
  readonly windowBytes?: number;
  readonly minWindowBytes?: number;
  readonly abortSignal?: AbortSignal;
  /** Called once per request with its window (tests count them). */
  readonly onWindow?: (offset: number, count: number) => void;
}

/** A page blob client for an access URL (no credential: the SAS is in the URL). */
export function accessUrlClient(accessUrl: string, options: StoragePipelineOptions = {}): PageBlobClient {
  return new PageBlobClient(accessUrl, new AnonymousCredential(), { retryOptions: { maxTries: 4 }, ...options });
}

function alignDown(n: number): number {
  return Math.floor(n / 512) * 512;
}

/** Whether a failed window is worth asking again in halves: the server ran out of time. */
function isServerTimeout(e: unknown): boolean {
  const status = (e as { statusCode?: unknown }).statusCode;
  const code = (e as { code?: unknown; details?: { errorCode?: unknown } }).details?.errorCode ?? (e as { code?: unknown }).code;
  return code === 'OperationTimedOut' || status === 503 || (status === 500 && code === 'InternalError');
}

/**
 * Runs `query` over `[0, sizeBytes)` in windows, a few at once, and yields each window's answer
 * (normalized) in offset order as soon as it and every window before it are in: a caller that
 * sweeps the answers never holds more than the windows in flight.
 */
export async function* queryWindowedPages(sizeBytes: number, query: WindowQuery, options: WindowedOptions = {}): AsyncGenerator<{ ranges: ByteRange[]; cleared: ByteRange[] }, void, undefined> {
  const window = Math.max(512, alignDown(options.windowBytes ?? DEFAULT_RANGE_WINDOW_BYTES));
  const minWindow = Math.max(512, alignDown(options.minWindowBytes ?? MIN_RANGE_WINDOW_BYTES));

  async function ask(offset: number, count: number): Promise<{ ranges: ByteRange[]; cleared: ByteRange[] }> {
    options.onWindow?.(offset, count);
    let answer: WindowAnswer | undefined;
    try {
      answer = await query(offset, count, options.abortSignal);
    } catch (e) {
      if (count / 2 < minWindow || !isServerTimeout(e)) throw e;
    }
    if (answer && !answer.truncated) return answer;
    if (count / 2 < minWindow) throw new Error(`the page-range answer for bytes ${offset}-${offset + count - 1} is still incomplete at the smallest window`);
    const half = Math.max(512, alignDown(count / 2));
    const [a, b] = [await ask(offset, half), await ask(offset + half, count - half)];
    return { ranges: [...a.ranges, ...b.ranges], cleared: [...a.cleared, ...b.cleared] };
  }

  const inFlight: Promise<{ ranges: ByteRange[]; cleared: ByteRange[] }>[] = [];
  let next = 0;
  const refill = (): void => {
    while (inFlight.length < RANGE_WINDOWS_AT_ONCE && next < sizeBytes) {
      const pending = ask(next, Math.min(window, sizeBytes - next));
      pending.catch(() => undefined);
      inFlight.push(pending);
      next += window;
    }
  };
  try {
    refill();
    while (inFlight.length > 0) {
      const answer = await (inFlight.shift() as Promise<{ ranges: ByteRange[]; cleared: ByteRange[] }>);
      refill();
      yield { ranges: normalize(answer.ranges), cleared: normalize(answer.cleared) };
    }
  } finally {
    // A caller that stops early (or a failed window) leaves the other windows to settle unread.
    await Promise.allSettled(inFlight);
  }
}

/** Runs `query` over `[0, sizeBytes)` in windows; returns the normalized union of the answers. */
export async function queryWindowed(sizeBytes: number, query: WindowQuery, options: WindowedOptions = {}): Promise<{ ranges: ByteRange[]; cleared: ByteRange[] }> {
  const ranges: ByteRange[] = [];
  const cleared: ByteRange[] = [];
  for await (const page of queryWindowedPages(sizeBytes, query, options)) {
    for (const r of page.ranges) ranges.push(r);
    for (const r of page.cleared) cleared.push(r);
  }
  return { ranges: normalize(ranges), cleared: normalize(cleared) };
}

/**
 * `[start, end)` ranges from a Get Page Ranges answer as storage-blob 12.x hands it over:
 * `rangeResponseFromModel` turns the service's inclusive `{start, end}` into
 * `{ offset: start, count: end - start }`, one byte short of the range's length.
 */
export function fromSdkRanges(ranges: ReadonlyArray<{ offset: number; count?: number }> | undefined): ByteRange[] {
  return (ranges ?? []).map((r) => ({ start: r.offset, end: r.offset + (r.count ?? 0) + 1 }));
}

/** Allocated ranges of the blob behind `client` in `[offset, offset + count)` (follows markers). */
export function allocatedWindow(client: PageBlobClient): WindowQuery {
  return async (offset, count, abortSignal) => {
    const ranges: ByteRange[] = [];
    for await (const page of client.listPageRanges(offset, count, { abortSignal }).byPage({ maxPageSize: 5000 })) {
      for (const r of page.pageRange ?? []) ranges.push({ start: r.start, end: r.end + 1 });
    }
    return { ranges, cleared: [], truncated: false };
  };
}

/** Changed and cleared ranges of the blob behind `client` since the snapshot at `previousAccessUrl`. */
export function diffWindow(client: PageBlobClient, previousAccessUrl: string): WindowQuery {
  return async (offset, count, abortSignal) => {
    const answer = await client.getPageRangesDiffForManagedDisks(offset, count, previousAccessUrl, { abortSignal });
    const marker = (answer as { continuationToken?: unknown }).continuationToken;
    return {
      ranges: fromSdkRanges(answer.pageRange),
      cleared: fromSdkRanges(answer.clearRange),
      truncated: typeof marker === 'string' && marker.length > 0,
    };
  };
}
