/** Deterministic disk contents for the integration tests: seeded bytes and the writes that put them on a page blob. */
import { createHash } from 'node:crypto';
import type { PageBlobClient } from '@azure/storage-blob';

/** Put Page takes at most 4 MiB. */
const MAX_PUT_PAGE_BYTES = 4 * 1024 * 1024;

/** Deterministic, seed-dependent bytes: a SHA-256 chain, so no two seeds give equal pages. */
export function pattern(seed: string | number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let digest = createHash('sha256').update(String(seed)).digest();
  for (let i = 0; i < bytes; i += digest.length) {
    digest.copy(out, i);
    digest = createHash('sha256').update(digest).digest();
  }
  return out;
}

/**
 * Writes `bytes` of pattern data at `offset` of `disk` (both whole pages), in Put Page calls of
 * at most 4 MiB: the call at `at` bytes into the write puts pattern(seedAt(at), its length).
 */
export async function writePattern(
  disk: PageBlobClient,
  offset: number,
  bytes: number,
  seedAt: (at: number) => string | number,
): Promise<void> {
  for (let at = 0; at < bytes; at += MAX_PUT_PAGE_BYTES) {
    const length = Math.min(MAX_PUT_PAGE_BYTES, bytes - at);
    await disk.uploadPages(pattern(seedAt(at), length), offset + at, length);
  }
}
