/** Helpers for tests that talk to the Azurite started by globalSetup.ts. */
import { randomBytes } from 'node:crypto';
import { BlobServiceClient, ContainerClient, PageBlobClient } from '@azure/storage-blob';

export function testBlobService(): BlobServiceClient {
  const cs = process.env.DELTAVAULT_TEST_STORAGE;
  if (!cs) throw new Error('DELTAVAULT_TEST_STORAGE is not set: run the tests through jest (its global setup starts Azurite)');
  return BlobServiceClient.fromConnectionString(cs);
}

let counter = 0;
/** A new, uniquely named container. */
export async function freshContainer(prefix: string): Promise<ContainerClient> {
  const name = `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${randomBytes(3).toString('hex')}`.toLowerCase();
  const container = testBlobService().getContainerClient(name);
  await container.create();
  return container;
}

/** The whole content of a page blob (or snapshot), unallocated pages as zeros. */
export async function readWhole(blob: PageBlobClient): Promise<Buffer> {
  const size = (await blob.getProperties()).contentLength ?? 0;
  if (size === 0) return Buffer.alloc(0);
  return blob.downloadToBuffer(0, size, { concurrency: 4 });
}

/** The allocated ranges of a page blob, as [start, end) pairs, sorted. */
async function allocatedOf(blob: PageBlobClient): Promise<[number, number][]> {
  const out: [number, number][] = [];
  for await (const page of blob.listPageRanges()) out.push([page.start, page.end + 1]);
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * Whether the first `length` bytes of two page blobs are equal, reading only the pages either
 * holds (elsewhere both read as zeros): for large sparse disks, where readWhole would download
 * gigabytes of zeros.
 */
export async function sameBytes(a: PageBlobClient, b: PageBlobClient, length: number): Promise<boolean> {
  const ranges = [...(await allocatedOf(a)), ...(await allocatedOf(b))]
    .map(([s, e]) => [Math.min(s, length), Math.min(e, length)] as [number, number])
    .filter(([s, e]) => e > s)
    .sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  const STEP = 4 * 1024 * 1024;
  for (const [start, end] of merged) {
    for (let at = start; at < end; at += STEP) {
      const count = Math.min(STEP, end - at);
      const [x, y] = await Promise.all([a.downloadToBuffer(at, count), b.downloadToBuffer(at, count)]);
      if (!x.equals(y)) return false;
    }
  }
  return true;
}
