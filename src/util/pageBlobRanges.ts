/** Page-range listing helpers shared by every page-blob client (source disks and the vault). */
import type { PageBlobClient } from '@azure/storage-blob';
import { ByteRange, clip, normalize } from '../ranges/byteRange';
import { errors } from '../errors';

const PAGE_LIST_PAGE_SIZE = 5000;

/**
 * Allocated ranges of a page blob (or of one of its snapshots), page by page as the service
 * lists them (in offset order), so a caller that sweeps them never holds the whole list.
 */
export async function* allocatedRangePages(blob: PageBlobClient, abortSignal?: AbortSignal): AsyncGenerator<ByteRange[], void, undefined> {
  try {
    for await (const page of blob.listPageRanges(0, undefined, { abortSignal }).byPage({ maxPageSize: PAGE_LIST_PAGE_SIZE })) {
      yield (page.pageRange ?? []).map((r) => ({ start: r.start, end: r.end + 1 }));
    }
  } catch (e) {
    throw errors.storage(`listing page ranges of ${describeBlob(blob)}`, e);
  }
}

/** `Get Page Ranges Diff` against an earlier snapshot of the same blob, page by page. */
export async function* rangeDiffPages(
  blob: PageBlobClient,
  prevSnapshot: string,
  abortSignal?: AbortSignal,
): AsyncGenerator<{ changed: ByteRange[]; cleared: ByteRange[] }, void, undefined> {
  try {
    for await (const page of blob.listPageRangesDiff(0, 0, prevSnapshot, { abortSignal }).byPage({ maxPageSize: PAGE_LIST_PAGE_SIZE })) {
      yield {
        changed: (page.pageRange ?? []).map((r) => ({ start: r.start, end: r.end + 1 })),
        cleared: (page.clearRange ?? []).map((r) => ({ start: r.start, end: r.end + 1 })),
      };
    }
  } catch (e) {
    throw errors.storage(`diffing page ranges of ${describeBlob(blob)}`, e);
  }
}

/**
 * Allocated ranges of a page blob (or of one of its snapshots, given a snapshot client), normalized;
 * with `within`, only those inside it (one slice of a large blob is listed, not the whole blob).
 */
export async function listAllocatedRanges(blob: PageBlobClient, abortSignal?: AbortSignal, within?: ByteRange): Promise<ByteRange[]> {
  const ranges: ByteRange[] = [];
  try {
    const pages = within ? blob.listPageRanges(within.start, within.end - within.start, { abortSignal }) : blob.listPageRanges(0, undefined, { abortSignal });
    for await (const page of pages.byPage({ maxPageSize: PAGE_LIST_PAGE_SIZE })) {
      for (const r of page.pageRange ?? []) ranges.push({ start: r.start, end: r.end + 1 });
    }
  } catch (e) {
    throw errors.storage(`listing page ranges of ${describeBlob(blob)}`, e);
  }
  return within ? clip(normalize(ranges), within.start, within.end) : normalize(ranges);
}

/** A blob's URL without its query string: safe to log (no SAS token). */
export function describeBlob(blob: { url: string }): string {
  const url = new URL(blob.url);
  const snapshot = url.searchParams.get('snapshot');
  return `${url.origin}${url.pathname}${snapshot ? `@${snapshot}` : ''}`;
}
