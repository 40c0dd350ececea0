/**
 * Step 6 of the data path: restore a recovery point into a *new* page blob. Proves the hash
 * list intact first, copies only the allocated ranges of the vault snapshot, checks every block
 * against its manifest hash before writing it (so corrupt vault data never lands silently),
 * and finally reads the target back and verifies it (unless told not to). Bounded concurrency,
 * fixed memory. Never overwrites an existing blob, except the one this same restore created (a
 * retried activity resumes it).
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { totalBytes, type ByteRange } from '../ranges/byteRange';
import { errors, storageStatus } from '../errors';
import { describeBlob, listAllocatedRanges } from '../util/pageBlobRanges';
import { readPageBlobInto } from '../util/pageBlobIo';
import { blobCopySource } from '../util/copySources';
import { PageWriter } from '../util/pageWriter';
import { checkBlockHashes } from '../vault/blockHashList';
import { hashListExpectation } from '../vault/manifest';
import { verifyPageBlob } from './verifyRecoveryPoint';
import { scanAgainstManifest } from './blockScan';

export const RESTORE_METADATA_KEY = 'deltavaultrestore';

export interface RestoreOptions {
  concurrency?: number;
  /**
   * Restore only this block-aligned byte range (one slice of a large restore, so each call fits
   * an activity's time limit); every slice of one restore uses the same restore id. The hash
   * list is checked whole by the slice that starts at 0.
   */
  range?: ByteRange;
  /** Read the written blob back and check it against the manifest (default true). */
  verify?: boolean;
  onProgress?: (progress: { bytesDone: number; bytesTotal: number }) => void;
}

export interface RestoreResult {
  recoveryPointId: string;
  target: string;
  sizeBytes: number;
  bytesWritten: number;
  blocksChecked: number;
}

export async function restoreToPageBlob(
  container: ContainerClient,
  rpId: string,
  target: PageBlobClient,
  restoreId: string,
  options: RestoreOptions = {},
): Promise<RestoreResult> {
  const manifest = await readRecoveryPoint(container, rpId);
  const snapshot = container.getPageBlobClient(manifest.vault.baseBlob).withSnapshot(manifest.vault.snapshot);
  const slice = options.range;
  if (!slice || slice.start === 0) await checkBlockHashes(container, manifest.blocks.blob, hashListExpectation(manifest));
  await createTarget(target, manifest.sizeBytes, restoreId);

  const allocated = await listAllocatedRanges(snapshot, undefined, slice);
  const bytesTotal = totalBytes(allocated);
  let bytesWritten = 0;
  // Checked blocks are written server-side from the vault snapshot where the target's service
  // can fetch it (Azure; the snapshot is immutable, so it writes exactly the bytes checked).
  const writer = new PageWriter(target, { copySource: blobCopySource(snapshot) });
  const scan = await scanAgainstManifest(container, manifest, {
    readInto: (range, buffer, offset) => readPageBlobInto(snapshot, range, buffer, offset),
    allocated,
    ...(slice ? { range: slice } : {}),
    concurrency: options.concurrency ?? 8,
    onWindow: async (window) => {
      // Only blocks that hashed right are written: data that fails its hash never lands.
      for (const r of window.goodAllocated) {
        const length = r.end - r.start;
        try {
          await writer.write(r, window.data.subarray(r.start - window.start, r.end - window.start));
        } catch (e) {
          throw errors.storage(`writing bytes ${r.start}-${r.end - 1} of ${describeBlob(target)}`, e);
        }
        bytesWritten += length;
      }
      options.onProgress?.({ bytesDone: bytesWritten, bytesTotal });
    },
  });
  if (scan.badBlocks.length > 0) {
    throw errors.integrityFailed(`recovery point ${rpId} in the vault`, scan.badBlocks);
  }
  if (options.verify ?? true) {
    const check = await verifyPageBlob(container, manifest, target, { ...(options.concurrency ? { concurrency: options.concurrency } : {}), ...(slice ? { range: slice } : {}) });
    if (!check.ok) throw errors.integrityFailed(`restored blob ${describeBlob(target)}`, check.badBlocks);
  }
  return { recoveryPointId: rpId, target: describeBlob(target), sizeBytes: manifest.sizeBytes, bytesWritten, blocksChecked: scan.blocksChecked };
}

async function createTarget(target: PageBlobClient, sizeBytes: number, restoreId: string): Promise<void> {
  try {
    await target.create(sizeBytes, { conditions: { ifNoneMatch: '*' }, metadata: { [RESTORE_METADATA_KEY]: restoreId } });
    return;
  } catch (e) {
    const status = storageStatus(e);
    if (status !== 409 && status !== 412) throw errors.storage(`creating restore target ${describeBlob(target)}`, e);
  }
  const props = await target.getProperties();
  if (props.metadata?.[RESTORE_METADATA_KEY] !== restoreId || props.contentLength !== sizeBytes) {
    throw errors.alreadyExists('restore target blob', describeBlob(target));
  }
}
