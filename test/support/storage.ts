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
