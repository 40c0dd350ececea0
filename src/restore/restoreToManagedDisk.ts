/**
 * Step 6 of the data path, to a *new managed disk*: create the disk with createOption Upload,
 * grant Write access, write the allocated ranges of the recovery point's vault snapshot (each
 * block checked against the manifest's SHA-256 before it is written, exactly as
 * restoreToPageBlob does; bounded concurrency, fixed memory) and the VHD footer, revoke, then
 * grant Read access and read the disk back against the manifest, revoke, and only then mark the
 * disk restored. Every grant is revoked, whatever happens (`withAccess`).
 *
 * The disk is tagged `deltavault-restore: <restoreId>` and `deltavault-recovery-point: <rpId>` when
 * it is created, `deltavault-restore-state: incomplete` until the read-back succeeded and
 * `verified` after. A retried call with the same restore id therefore:
 * - resumes a disk still accepting the upload (ReadyToUpload / ActiveUpload; every write is
 *   idempotent, so it writes everything again),
 * - finds a `verified` disk done and returns at once (`alreadyRestored: true`, nothing written),
 * - deletes and re-creates a disk of its own whose upload ended without verification (an
 *   earlier attempt failed after its Write access was revoked: Azure then makes the disk
 *   Unattached and it can take no more writes), or whose create failed;
 * and a disk of that name that any other restore (or anyone else) made is never touched:
 * `ALREADY_EXISTS`. `discardManagedDiskRestore` deletes the disk of a failed restore.
 *
 * No access URL ever leaves this module: results and errors name the disk's resource id.
 * docs/design.md ("Restore to a managed disk") says why the disk is uploaded, not imported.
 */
import { createHash } from 'node:crypto';
import type { Disk } from '@azure/arm-compute';
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { computeClient, type ArmAccess } from '../azure/armAccess';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { DeltavaultError, errors } from '../errors';
import { clip, totalBytes, union, type ByteRange } from '../ranges/byteRange';
import { zeroHash } from '../backup/copyChunk';
import { readPageBlobInto } from '../util/pageBlobIo';
import { listAllocatedRanges } from '../util/pageBlobRanges';
import { readBlockHashes } from '../vault/blockHashList';
import { hashListExpectation, type Manifest } from '../vault/manifest';
import { WINDOW_BYTES } from '../vault/vaultLayout';
import { scanAgainstManifest } from './blockScan';
import { blobCopySource } from '../util/copySources';
import { DiskAccessBlob } from './diskAccessBlob';
import { planManagedDiskLayout, type ManagedDiskLayout } from './managedDiskLayout';
import { createDisk, deleteDisk, getDisk, revokeAccess, setDiskTags, withAccess, type TargetDiskRef } from './managedDiskArm';
import { VHD_FOOTER_BYTES } from './vhdFooter';

export const RESTORE_TAG = 'deltavault-restore';
export const RESTORE_POINT_TAG = 'deltavault-recovery-point';
export const RESTORE_STATE_TAG = 'deltavault-restore-state';

export interface ManagedDiskTarget {
  subscriptionId: string;
  resourceGroup: string;
  /** The new disk's name (1-80 letters, digits, `_`, `.`, `-`). */
  name: string;
  location: string;
  /** Disk SKU, e.g. `Premium_LRS` (Azure's default when absent: Standard_LRS). */
  sku?: string;
  /** Availability zone, e.g. `1`. */
  zone?: string;
  /** Tags of the new disk, besides deltavault's own. */
  tags?: Record<string, string>;
  /** For a disk that will boot a VM. */
  osType?: 'Windows' | 'Linux';
  hyperVGeneration?: 'V1' | 'V2';
}

export interface RestoreToManagedDiskInput {
  access: ArmAccess;
  vaultContainer: ContainerClient;
  recoveryPointId: string;
  target: ManagedDiskTarget;
  restoreId: string;
  /** Windows (4 MiB) in flight while writing and reading back (default 8). */
  concurrency?: number;
  onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void;
  /** Poll interval of ARM long-running operations (default: the client's, or ARM's Retry-After). */
  updateIntervalInMs?: number;
}

export interface ManagedDiskRestoreResult {
  recoveryPointId: string;
  /** The restored disk's ARM resource id. */
  diskId: string;
  /** The recovery point's size (the disk holds exactly these bytes first). */
  sizeBytes: number;
  /** Bytes written to the disk by this call: the allocated data and a generated footer. */
  bytesWritten: number;
  /** Blocks read back from the disk and checked against the manifest. */
  blocksChecked: number;
  /** The disk's upload size: its size in whole MiB plus the 512-byte VHD footer. */
  uploadSizeBytes: number;
  /** `kept`: the point ended in a valid fixed VHD footer, uploaded as it was; `generated`: deltavault wrote one. */
  footer: 'kept' | 'generated';
  /** An earlier call with this restore id had already finished: this one wrote and checked nothing. */
  alreadyRestored: boolean;
}

const DISK_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/;
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;
const SUBSCRIPTION = /^[0-9a-fA-F-]{1,64}$/;
/** A grant lasts long enough to move its bytes at this pessimistic rate, plus five minutes. */
const ASSUMED_BYTES_PER_SECOND = 8 * 1024 * 1024;
const GRANT_BASE_SECONDS = 300;
const GRANT_MAX_SECONDS = 24 * 3600;

/** How long to ask for access to move `bytes`: the shortest time that is still safe. */
export function grantSecondsFor(bytes: number): number {
  return Math.min(GRANT_MAX_SECONDS, GRANT_BASE_SECONDS + Math.ceil(bytes / ASSUMED_BYTES_PER_SECOND));
}

export function managedDiskId(target: Pick<ManagedDiskTarget, 'subscriptionId' | 'resourceGroup' | 'name'>): string {
  return `/subscriptions/${target.subscriptionId}/resourceGroups/${target.resourceGroup}/providers/Microsoft.Compute/disks/${target.name}`;
}

function checkTarget(target: ManagedDiskTarget, restoreId: string): void {
  if (!SUBSCRIPTION.test(target.subscriptionId)) throw errors.invalidArgument('target subscription', `'${target.subscriptionId}' is not a subscription id`);
  if (!RESOURCE_GROUP.test(target.resourceGroup)) throw errors.invalidArgument('target resource group', `'${target.resourceGroup}' is not a resource group name`);
  if (!DISK_NAME.test(target.name)) {
    throw errors.invalidArgument('target disk name', `'${target.name}' must be 1-80 letters, digits, '_', '.' or '-', starting with a letter or digit and not ending in '.' or '-'`);
  }
  if (!target.location.trim()) throw errors.invalidArgument('target location', 'must not be empty');
  if (restoreId.length < 1 || restoreId.length > 256) throw errors.invalidArgument('restore id', 'must be 1-256 characters (it is a tag value)');
}

function targetRef(access: ArmAccess, target: ManagedDiskTarget, updateIntervalInMs?: number): TargetDiskRef {
  return {
    client: computeClient(access, target.subscriptionId),
    resourceGroup: target.resourceGroup,
    name: target.name,
    id: managedDiskId(target),
    pollIntervalMs: updateIntervalInMs,
    retryDelayMs: Math.max(10, updateIntervalInMs ?? 1000),
  };
}

/** A tag's value; ARM tag names are case-insensitive. */
function tagOf(disk: Disk, name: string): string | undefined {
  const key = Object.keys(disk.tags ?? {}).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : disk.tags?.[key];
}

/** 16 bytes for a generated footer's unique id, the same for every attempt of one restore (UUID v4 layout). */
function footerUniqueId(restoreId: string, rpId: string): Buffer {
  const id = createHash('sha256').update(`deltavault-vhd:${restoreId}:${rpId}`).digest().subarray(0, 16);
  id[6] = (id[6]! & 0x0f) | 0x40;
  id[8] = (id[8]! & 0x3f) | 0x80;
  return Buffer.from(id);
}

/**
 * Proves the hash list intact (read through once: order, count, SHA-256) and returns the
 * point's last 512 bytes after checking the block that holds them against its hash: the
 * upload size depends on them, so they are trusted only once checked.
 */
async function checkedLastSector(container: ContainerClient, manifest: Manifest, snapshot: PageBlobClient): Promise<Buffer> {
  if (manifest.sizeBytes < VHD_FOOTER_BYTES || manifest.sizeBytes % VHD_FOOTER_BYTES !== 0) {
    throw errors.manifestInvalid(`recovery point ${manifest.id}`, `size ${manifest.sizeBytes} is not a positive multiple of 512`);
  }
  const blockBytes = manifest.blocks.sizeBytes;
  const lastBlock = Math.floor((manifest.sizeBytes - 1) / blockBytes);
  let expected: Buffer | undefined;
  for await (const record of readBlockHashes(container, manifest.blocks.blob, hashListExpectation(manifest))) {
    if (record.index === lastBlock) expected = record.hash;
  }
  const from = lastBlock * blockBytes;
  const block = Buffer.alloc(manifest.sizeBytes - from);
  await readPageBlobInto(snapshot, { start: from, end: manifest.sizeBytes }, block, 0);
  const actual = createHash('sha256').update(block).digest('hex');
  if (actual !== (expected ? expected.toString('hex') : zeroHash(block.length))) {
    throw errors.integrityFailed(`recovery point ${manifest.id} in the vault`, [lastBlock]);
  }
  return Buffer.from(block.subarray(block.length - VHD_FOOTER_BYTES));
}

type Start = 'write' | 'done';

/**
 * Makes sure the target disk exists as this restore's upload disk and says what is left to do.
 * Touches nothing but a disk tagged with this restore id (and this recovery point).
 */
async function prepareDisk(ref: TargetDiskRef, body: Disk, layout: ManagedDiskLayout, restoreId: string, rpId: string): Promise<Start> {
  const disk = await getDisk(ref);
  if (!disk) {
    await createDisk(ref, body);
    return 'write';
  }
  if (tagOf(disk, RESTORE_TAG) !== restoreId || tagOf(disk, RESTORE_POINT_TAG) !== rpId) throw errors.alreadyExists('managed disk', ref.id);
  if (disk.provisioningState === 'Failed' || disk.provisioningState === 'Canceled') {
    await createDisk(ref, body);
    return 'write';
  }
  if (disk.provisioningState !== 'Succeeded') {
    throw new DeltavaultError('STORAGE_FAILED', `managed disk '${ref.id}' is ${disk.provisioningState ?? 'in an unknown state'}; try again when its operation has finished`, {
      details: { operation: 'preparing', resource: ref.id },
    });
  }
  const state = disk.diskState;
  if (tagOf(disk, RESTORE_STATE_TAG) === 'verified') {
    if (state === 'ActiveSAS') await revokeAccess(ref);
    return 'done';
  }
  const sameShape = disk.creationData?.createOption === 'Upload' && disk.creationData.uploadSizeBytes === layout.uploadSizeBytes;
  if (sameShape && (state === 'ReadyToUpload' || state === 'ActiveUpload')) return 'write';
  // An earlier attempt's upload ended unverified: the disk takes no more writes. Start over.
  if (state === 'ActiveSAS' || state === 'ActiveUpload') await revokeAccess(ref);
  await deleteDisk(ref);
  await createDisk(ref, body);
  return 'write';
}

interface WriteOutcome {
  badBlocks: number[];
  bytesWritten: number;
}

/** Writes the checked data of the point and then the footer through the Write SAS. */
async function writePoint(
  disk: DiskAccessBlob,
  container: ContainerClient,
  manifest: Manifest,
  snapshot: PageBlobClient,
  allocated: ByteRange[],
  layout: ManagedDiskLayout,
  concurrency: number,
  onProgress: RestoreToManagedDiskInput['onProgress'],
): Promise<WriteOutcome> {
  const bytesTotal = totalBytes(clip(allocated, 0, layout.dataBytes)) + (layout.footerBytes?.length ?? 0);
  let bytesWritten = 0;
  // The disk's service fetches checked blocks from the vault snapshot itself where it can.
  const copySource = blobCopySource(snapshot);
  const scan = await scanAgainstManifest(container, manifest, {
    readInto: (range, buffer, offset) => readPageBlobInto(snapshot, range, buffer, offset),
    allocated,
    concurrency,
    onWindow: async (window) => {
      // Only blocks that hashed right are written, and only the bytes that belong on the disk.
      for (const r of clip(window.goodAllocated, 0, layout.dataBytes)) {
        await disk.write(window.data.subarray(r.start - window.start, r.end - window.start), r.start, copySource);
        bytesWritten += r.end - r.start;
      }
      onProgress?.({ bytesDone: bytesWritten, bytesTotal });
    },
  });
  if (scan.badBlocks.length > 0) return { badBlocks: scan.badBlocks, bytesWritten };
  if (layout.footerBytes) {
    await disk.write(layout.footerBytes, layout.diskBytes);
    bytesWritten += layout.footerBytes.length;
    onProgress?.({ bytesDone: bytesWritten, bytesTotal });
  }
  return { badBlocks: [], bytesWritten };
}

export interface DiskCheck {
  ok: boolean;
  blocksChecked: number;
  /** Blocks of the point whose bytes on the disk differ from the manifest. */
  badBlocks: number[];
  /** What else is wrong: size, bytes past the point's end, the footer. */
  problems: string[];
}

/**
 * Reads the disk back through a Read SAS and checks it: bytes `[0, dataBytes)` against the
 * manifest's block hashes (a dropped footer slot, past `dataBytes`, is taken from the vault so
 * the last block hashes as the point did), zeros between the data and the footer, the footer,
 * and the disk's size.
 */
export async function checkRestoredDisk(
  disk: DiskAccessBlob,
  container: ContainerClient,
  manifest: Manifest,
  layout: ManagedDiskLayout,
  options: { concurrency?: number } = {},
): Promise<DiskCheck> {
  const problems: string[] = [];
  const size = await disk.sizeBytes();
  if (size !== layout.uploadSizeBytes) problems.push(`it is ${size} bytes where ${layout.uploadSizeBytes} were uploaded`);
  const snapshot = container.getPageBlobClient(manifest.vault.baseBlob).withSnapshot(manifest.vault.snapshot);
  const { dataBytes } = layout;
  const slot = dataBytes < manifest.sizeBytes ? clip(await listAllocatedRanges(snapshot), dataBytes, manifest.sizeBytes) : [];
  const allocated = union(await disk.allocated(0, dataBytes), slot);
  const readInto = async (range: ByteRange, target: Buffer, offset: number): Promise<void> => {
    if (range.start < dataBytes) await disk.readInto({ start: range.start, end: Math.min(range.end, dataBytes) }, target, offset);
    if (range.end > dataBytes) {
      const from = Math.max(range.start, dataBytes);
      await readPageBlobInto(snapshot, { start: from, end: range.end }, target, offset + from - range.start);
    }
  };
  const scan = await scanAgainstManifest(container, manifest, {
    readInto,
    allocated,
    concurrency: options.concurrency ?? 8,
  });

  // Between the point's data and the footer the disk must read as zeros.
  const padding = await disk.allocated(dataBytes, layout.diskBytes);
  const buffer = padding.length > 0 ? Buffer.alloc(WINDOW_BYTES) : undefined;
  padding: for (const r of padding) {
    for (let at = r.start; at < r.end; at += WINDOW_BYTES) {
      const piece = buffer!.subarray(0, Math.min(WINDOW_BYTES, r.end - at));
      await disk.readInto({ start: at, end: at + piece.length }, piece, 0);
      if (piece.some((b) => b !== 0)) {
        problems.push(`bytes past the recovery point's end (from ${at}) are not zero`);
        break padding;
      }
    }
  }
  if (layout.footerBytes) {
    const footer = Buffer.alloc(VHD_FOOTER_BYTES);
    await disk.readInto({ start: layout.diskBytes, end: layout.diskBytes + VHD_FOOTER_BYTES }, footer, 0);
    if (!footer.equals(layout.footerBytes)) problems.push('its VHD footer is not the one written');
  }
  return { ok: scan.badBlocks.length === 0 && problems.length === 0, blocksChecked: scan.blocksChecked, badBlocks: scan.badBlocks, problems };
}

export async function restoreToManagedDisk(input: RestoreToManagedDiskInput): Promise<ManagedDiskRestoreResult> {
  const { target, restoreId, recoveryPointId: rpId, vaultContainer } = input;
  checkTarget(target, restoreId);
  const concurrency = input.concurrency ?? 8;
  const ref = targetRef(input.access, target, input.updateIntervalInMs);

  const manifest = await readRecoveryPoint(vaultContainer, rpId);
  const snapshot = vaultContainer.getPageBlobClient(manifest.vault.baseBlob).withSnapshot(manifest.vault.snapshot);
  const layout = planManagedDiskLayout({
    sizeBytes: manifest.sizeBytes,
    sourceKind: manifest.source.kind,
    lastSector: await checkedLastSector(vaultContainer, manifest, snapshot),
    uniqueId: footerUniqueId(restoreId, rpId),
    createdAt: new Date(manifest.createdAt),
  });
  const tags = { ...target.tags, [RESTORE_TAG]: restoreId, [RESTORE_POINT_TAG]: rpId, [RESTORE_STATE_TAG]: 'incomplete' };
  const body: Disk = {
    location: target.location,
    tags,
    ...(target.sku ? { sku: { name: target.sku } } : {}),
    ...(target.zone ? { zones: [target.zone] } : {}),
    ...(target.osType ? { osType: target.osType } : {}),
    ...(target.hyperVGeneration ? { hyperVGeneration: target.hyperVGeneration } : {}),
    creationData: { createOption: 'Upload', uploadSizeBytes: layout.uploadSizeBytes },
  };
  const result = { recoveryPointId: rpId, diskId: ref.id, sizeBytes: manifest.sizeBytes, uploadSizeBytes: layout.uploadSizeBytes, footer: layout.footer };

  if ((await prepareDisk(ref, body, layout, restoreId, rpId)) === 'done') {
    return { ...result, bytesWritten: 0, blocksChecked: 0, alreadyRestored: true };
  }

  const allocated = await listAllocatedRanges(snapshot);
  const dataTotal = totalBytes(clip(allocated, 0, layout.dataBytes));
  const written = await withAccess(ref, 'Write', grantSecondsFor(dataTotal), (sas) =>
    writePoint(new DiskAccessBlob(sas, ref.id), vaultContainer, manifest, snapshot, allocated, layout, concurrency, input.onProgress),
  );
  if (written.badBlocks.length > 0) throw errors.integrityFailed(`recovery point ${rpId} in the vault`, written.badBlocks);

  const check = await withAccess(ref, 'Read', grantSecondsFor(dataTotal), (sas) =>
    checkRestoredDisk(new DiskAccessBlob(sas, ref.id), vaultContainer, manifest, layout, { concurrency }),
  );
  if (!check.ok) {
    const error = errors.integrityFailed(`restored managed disk '${ref.id}'${check.problems.length ? ` (${check.problems.join('; ')})` : ''}`, check.badBlocks);
    throw error;
  }
  await setDiskTags(ref, { ...tags, [RESTORE_STATE_TAG]: 'verified' });
  return { ...result, bytesWritten: written.bytesWritten, blocksChecked: check.blocksChecked, alreadyRestored: false };
}

/**
 * Deletes the target disk of restore `restoreId` after it failed, revoking its access first —
 * but only a disk tagged with that restore id: any other disk of that name is left alone
 * (`deleted: false`), as is a name with no disk.
 */
export async function discardManagedDiskRestore(input: {
  access: ArmAccess;
  target: ManagedDiskTarget;
  restoreId: string;
  updateIntervalInMs?: number;
}): Promise<{ deleted: boolean }> {
  checkTarget(input.target, input.restoreId);
  const ref = targetRef(input.access, input.target, input.updateIntervalInMs);
  const disk = await getDisk(ref);
  if (!disk || tagOf(disk, RESTORE_TAG) !== input.restoreId) return { deleted: false };
  if (disk.diskState === 'ActiveUpload' || disk.diskState === 'ActiveSAS') await revokeAccess(ref);
  await deleteDisk(ref);
  return { deleted: true };
}
