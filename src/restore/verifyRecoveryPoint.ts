/**
 * Verify a recovery point (its vault snapshot) or any page blob restored from it against the
 * manifest's per-block SHA-256 list; reports exactly which blocks differ.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { errors, storageStatus } from '../errors';
import { listAllocatedRanges, describeBlob } from '../util/pageBlobRanges';
import { readPageBlobInto } from '../util/pageBlobIo';
import { Manifest } from '../vault/manifest';
import { scanAgainstManifest } from './blockScan';
import type { ByteRange } from '../ranges/byteRange';

export interface VerifyResult {
  recoveryPointId: string;
  ok: boolean;
  blocksChecked: number;
  badBlocks: number[];
}

export interface VerifyOptions {
  concurrency?: number;
  /** Only the blocks in this block-aligned byte range (a slice of a restore's read-back). */
  range?: ByteRange;
}

export async function verifyRecoveryPoint(container: ContainerClient, rpId: string, options: VerifyOptions = {}): Promise<VerifyResult> {
  const manifest = await readRecoveryPoint(container, rpId);
  const snapshot = container.getPageBlobClient(manifest.vault.baseBlob).withSnapshot(manifest.vault.snapshot);
  return verifyPageBlob(container, manifest, snapshot, options);
}

/** Checks `blob` (a vault snapshot or a restored blob) against `manifest`. */
export async function verifyPageBlob(
  container: ContainerClient,
  manifest: Manifest,
  blob: PageBlobClient,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  let sizeBytes: number;
  try {
    sizeBytes = (await blob.getProperties()).contentLength ?? 0;
  } catch (e) {
    if (storageStatus(e) === 404) throw errors.notFound('page blob', describeBlob(blob));
    throw errors.storage(`reading properties of ${describeBlob(blob)}`, e);
  }
  if (sizeBytes !== manifest.sizeBytes) {
    throw errors.integrityFailed(`${describeBlob(blob)} is ${sizeBytes} bytes, recovery point ${manifest.id} is ${manifest.sizeBytes}`, []);
  }
  const scan = await scanAgainstManifest(container, manifest, {
    readInto: (range, target, offset) => readPageBlobInto(blob, range, target, offset),
    allocated: await listAllocatedRanges(blob, undefined, options.range),
    ...(options.range ? { range: options.range } : {}),
    concurrency: options.concurrency ?? 8,
  });
  return { recoveryPointId: manifest.id, ok: scan.badBlocks.length === 0, blocksChecked: scan.blocksChecked, badBlocks: scan.badBlocks };
}
