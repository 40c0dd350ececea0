/**
 * Step 6 of the data path, to a *new managed disk*, in steps that each fit an activity's time
 * limit (the restore orchestration runs each as its own activity; `restoreToManagedDisk` runs
 * them one after another in one call):
 *
 * 1. `prepareManagedDiskRestore`: check the hash list and the point's last block, decide the
 *    layout, create (or resume) the disk with createOption Upload; returns the slices and the
 *    layout every later step is given (JSON, no access URL).
 * 2. `writeManagedDiskSlice`, once per slice: grant Write (on a disk in ActiveUpload that resumes
 *    the upload with a new access URL) and write the slice's allocated ranges of the vault
 *    snapshot, each block checked against the manifest's SHA-256 before it is written, exactly
 *    as restoreToPageBlob does (bounded concurrency, fixed memory). It never revokes: on Azure,
 *    ending the access ends the upload, and the disk then takes no more writes. A failed slice is
 *    retried as it is (it grants again and writes its blocks again; every write is idempotent).
 * 3. `finishManagedDiskWrite`: write the VHD footer (when generated) and revoke: the upload ends.
 * 4. `checkManagedDiskSlice`, once per slice: grant Read and read the slice back against the
 *    manifest (no revoke: the last step does).
 * 5. `finishManagedDiskCheck`: the zeros between the data and the footer, the footer, the size;
 *    revoke; and only when the slices and these checks all passed, tag the disk verified.
 *
 * The disk is tagged `deltavault-restore: <restoreId>` and `deltavault-recovery-point: <rpId>` when
 * it is created, `deltavault-restore-state: incomplete` until the read-back succeeded and
 * `verified` after. Every step first reads the disk and works only on one tagged with its
 * restore id and point (and the planned upload size). A retried prepare therefore:
 * - resumes a disk still accepting the upload (ReadyToUpload / ActiveUpload),
 * - finds a `verified` disk done (`alreadyRestored: true`, nothing to write),
 * - deletes and re-creates a disk of its own whose upload ended without verification (an
 *   earlier attempt was given up after its access was revoked: Azure then makes the disk
 *   Unattached and it can take no more writes), or whose create failed;
 * and a disk of that name that any other restore (or anyone else) made is never touched:
 * `ALREADY_EXISTS`. `discardManagedDiskRestore` deletes the disk of a failed restore, revoking
 * its access first (which is what ends the grants of a restore given up between slices).
 *
 * No access URL ever leaves this module: results and errors name the disk's resource id.
 * docs/design.md ("Restore to a managed disk") says why the disk is uploaded, not imported.
 */
import { createHash } from 'node:crypto';
import type { Disk } from '@azure/arm-compute';
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import type { ArmAccess } from '../azure/armAccess';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { DeltavaultError, errors } from '../errors';
import { MAX_LISTED } from '../events/cloudEvents';
import { clip, totalBytes, union, type ByteRange } from '../ranges/byteRange';
import { zeroHash } from '../backup/copyChunk';
import { readPageBlobInto } from '../util/pageBlobIo';
import { listAllocatedRanges } from '../util/pageBlobRanges';
import { readBlockHashes } from '../vault/blockHashList';
import { hashListExpectation, type Manifest } from '../vault/manifest';
import { WINDOW_BYTES } from '../vault/vaultLayout';
import { SLICE_BYTES, slicesOf, type Slice } from '../workflows/slices';
import { scanAgainstManifest, type ScanResult } from './blockScan';
import { blobCopySource } from '../util/copySources';
import { DiskAccessBlob } from './diskAccessBlob';
import { planManagedDiskLayout, type ManagedDiskLayout } from './managedDiskLayout';
import {
  createDisk,
  deleteDisk,
  getDisk,
  grantAccess,
  revokeAccess,
  revokeAfterFailure,
  setDiskTags,
  withAccess,
  type TargetDiskRef,
} from './managedDiskArm';
import { VHD_FOOTER_BYTES } from './vhdFooter';
import { RESTORE_POINT_TAG, RESTORE_STATE_TAG, RESTORE_TAG, checkTarget, grantSecondsFor, tagOf, targetRef, type ManagedDiskTarget } from './managedDiskTarget';

/** Where a managed-disk restore reads from and writes to: what every step is given. */
export interface ManagedDiskRestoreRef {
  access: ArmAccess;
  vaultContainer: ContainerClient;
  recoveryPointId: string;
  target: ManagedDiskTarget;
  restoreId: string;
  /** Poll interval of ARM long-running operations (default: the client's, or ARM's Retry-After). */
  updateIntervalInMs?: number;
}

export interface RestoreToManagedDiskInput extends ManagedDiskRestoreRef {
  /** Windows (4 MiB) in flight while writing and reading back (default 8). */
  concurrency?: number;
  onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void;
  /** Bytes of address space per slice (default SLICE_BYTES; a multiple of the point's block size). */
  sliceBytes?: number;
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

/** A layout as JSON (a generated footer in base64): what prepare hands every later step. */
export interface ManagedDiskLayoutJson {
  dataBytes: number;
  diskBytes: number;
  uploadSizeBytes: number;
  footer: 'kept' | 'generated';
  footerBase64?: string;
}

/** What prepare found and decided. JSON, and never an access URL. */
export interface PreparedManagedDiskRestore {
  recoveryPointId: string;
  diskId: string;
  sizeBytes: number;
  uploadSizeBytes: number;
  footer: 'kept' | 'generated';
  /** An earlier attempt with this restore id had finished: there is nothing left to do. */
  alreadyRestored: boolean;
  /** What the writes count to: the point's allocated bytes that go on the disk, and a generated footer. */
  bytesTotal: number;
  /** Block-aligned slices covering the point, written (then checked) one after another; none when already restored. */
  slices: Slice[];
  layout: ManagedDiskLayoutJson;
}

/** A step after prepare: the restore, and the layout prepare returned. */
export interface ManagedDiskStepInput extends ManagedDiskRestoreRef {
  layout: ManagedDiskLayoutJson;
}

export interface ManagedDiskSliceInput extends ManagedDiskStepInput {
  /** One of prepare's slices (any block-aligned range inside the point). */
  slice: Slice;
  /** Windows (4 MiB) in flight (default 8). */
  concurrency?: number;
}

/** What a check slice read back. */
export interface ManagedDiskSliceCheck {
  blocksChecked: number;
  /** Blocks whose bytes on the disk differ from the manifest: the first MAX_LISTED of them. */
  badBlocks: number[];
  badBlockCount: number;
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

function layoutToJson(layout: ManagedDiskLayout): ManagedDiskLayoutJson {
  const { footerBytes, ...sizes } = layout;
  return { ...sizes, ...(footerBytes ? { footerBase64: footerBytes.toString('base64') } : {}) };
}

function layoutFromJson(json: ManagedDiskLayoutJson): ManagedDiskLayout {
  const { footerBase64, ...sizes } = json;
  const footerBytes = footerBase64 === undefined ? undefined : Buffer.from(footerBase64, 'base64');
  if ((json.footer === 'generated') !== (footerBytes?.length === VHD_FOOTER_BYTES)) {
    throw errors.invalidArgument('managed disk layout', `a ${json.footer} footer ${footerBytes ? `of ${footerBytes.length} bytes` : 'without its bytes'}`);
  }
  return { ...sizes, ...(footerBytes ? { footerBytes } : {}) };
}

function snapshotOf(container: ContainerClient, manifest: Manifest): PageBlobClient {
  return container.getPageBlobClient(manifest.vault.baseBlob).withSnapshot(manifest.vault.snapshot);
}

const UPLOADING: ReadonlySet<string | undefined> = new Set(['ReadyToUpload', 'ActiveUpload']);

/**
 * The target disk of a step after prepare: it must exist, be this restore's (tags) and have the
 * planned upload size, else the step touches nothing (`NOT_FOUND`, `ALREADY_EXISTS`).
 */
async function ownDisk(input: ManagedDiskStepInput): Promise<{ ref: TargetDiskRef; layout: ManagedDiskLayout; disk: Disk }> {
  checkTarget(input.target, input.restoreId);
  const layout = layoutFromJson(input.layout);
  const ref = targetRef(input.access, input.target, input.updateIntervalInMs);
  const disk = await getDisk(ref);
  if (!disk) throw errors.notFound('managed disk', ref.id);
  if (tagOf(disk, RESTORE_TAG) !== input.restoreId || tagOf(disk, RESTORE_POINT_TAG) !== input.recoveryPointId || disk.creationData?.uploadSizeBytes !== layout.uploadSizeBytes) {
    throw errors.alreadyExists('managed disk', ref.id);
  }
  return { ref, layout, disk };
}

/** The disk is not in the state `step` needs (someone ended its upload, or the steps ran out of order). */
function wrongState(ref: TargetDiskRef, disk: Disk, step: string, needs: string): DeltavaultError {
  return new DeltavaultError('STORAGE_FAILED', `${step} managed disk '${ref.id}': it is ${disk.diskState ?? 'in an unknown state'}, and ${needs}`, {
    details: { operation: step, resource: ref.id, diskState: disk.diskState },
  });
}

/** `slice` as a range of the point: whole blocks (the last may end at the point's end) inside it. */
function checkedSlice(manifest: Manifest, slice: Slice): ByteRange {
  const { start, end } = slice;
  const block = manifest.blocks.sizeBytes;
  const fits = Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start < end && end <= manifest.sizeBytes;
  if (!fits || start % block !== 0 || (end % block !== 0 && end !== manifest.sizeBytes)) {
    throw errors.invalidRange(`slice ${start}-${end} is not a range of whole ${block}-byte blocks inside recovery point ${manifest.id} (${manifest.sizeBytes} bytes)`, { start, end });
  }
  return { start, end };
}

/**
 * Prepare (step 1): checks the hash list and the point's last block, decides the layout, and
 * creates or resumes this restore's upload disk. Nothing is granted.
 */
export async function prepareManagedDiskRestore(input: ManagedDiskRestoreRef & { sliceBytes?: number }): Promise<PreparedManagedDiskRestore> {
  const { target, restoreId, recoveryPointId: rpId, vaultContainer } = input;
  checkTarget(target, restoreId);
  const ref = targetRef(input.access, target, input.updateIntervalInMs);

  const manifest = await readRecoveryPoint(vaultContainer, rpId);
  const sliceBytes = input.sliceBytes ?? SLICE_BYTES;
  if (!Number.isSafeInteger(sliceBytes) || sliceBytes <= 0 || sliceBytes % manifest.blocks.sizeBytes !== 0) {
    throw errors.invalidArgument('slice size', `${sliceBytes} is not a positive multiple of the point's ${manifest.blocks.sizeBytes}-byte blocks`);
  }
  const snapshot = snapshotOf(vaultContainer, manifest);
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
  const done = (await prepareDisk(ref, body, layout, restoreId, rpId)) === 'done';
  const footerBytes = layout.footerBytes?.length ?? 0;
  return {
    recoveryPointId: rpId,
    diskId: ref.id,
    sizeBytes: manifest.sizeBytes,
    uploadSizeBytes: layout.uploadSizeBytes,
    footer: layout.footer,
    alreadyRestored: done,
    bytesTotal: done ? 0 : totalBytes(clip(await listAllocatedRanges(snapshot), 0, layout.dataBytes)) + footerBytes,
    slices: done ? [] : slicesOf(manifest.sizeBytes, sliceBytes),
    layout: layoutToJson(layout),
  };
}

/**
 * Write one slice (step 2): grants Write and writes the slice's checked blocks. It never revokes,
 * not even when it fails: revoking would end the upload. Retried, it grants again (Azure resumes
 * the upload with a new access URL) and writes the slice again; a restore given up meanwhile is
 * discarded, which revokes. A slice with nothing allocated is not granted anything.
 */
export async function writeManagedDiskSlice(
  input: ManagedDiskSliceInput & { onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void },
): Promise<{ bytesWritten: number }> {
  const { ref, layout, disk } = await ownDisk(input);
  if (!UPLOADING.has(disk.diskState)) throw wrongState(ref, disk, 'writing to', 'its upload has ended: it takes no more writes');
  const manifest = await readRecoveryPoint(input.vaultContainer, input.recoveryPointId);
  const slice = checkedSlice(manifest, input.slice);
  const snapshot = snapshotOf(input.vaultContainer, manifest);
  const allocated = await listAllocatedRanges(snapshot, undefined, slice);
  const bytesTotal = totalBytes(clip(allocated, 0, layout.dataBytes));
  let target: Promise<DiskAccessBlob> | undefined;
  const diskBlob = (): Promise<DiskAccessBlob> => (target ??= grantAccess(ref, 'Write', grantSecondsFor(bytesTotal)).then((sas) => new DiskAccessBlob(sas, ref.id)));
  let bytesWritten = 0;
  // The disk's service fetches checked blocks from the vault snapshot itself where it can.
  const copySource = blobCopySource(snapshot);
  const scan = await scanAgainstManifest(input.vaultContainer, manifest, {
    readInto: (range, buffer, offset) => readPageBlobInto(snapshot, range, buffer, offset),
    allocated,
    range: slice,
    concurrency: input.concurrency ?? 8,
    onWindow: async (window) => {
      // Only blocks that hashed right are written, and only the bytes that belong on the disk.
      for (const r of clip(window.goodAllocated, 0, layout.dataBytes)) {
        await (await diskBlob()).write(window.data.subarray(r.start - window.start, r.end - window.start), r.start, copySource);
        bytesWritten += r.end - r.start;
      }
      input.onProgress?.({ bytesDone: bytesWritten, bytesTotal });
    },
  });
  if (scan.badBlocks.length > 0) throw errors.integrityFailed(`recovery point ${manifest.id} in the vault`, scan.badBlocks);
  return { bytesWritten };
}

/**
 * Finish the write (step 3), after every slice was written: writes a generated footer and
 * revokes, which ends the upload (the disk becomes Unattached). Retried after its revoke, it
 * finds the upload ended and does nothing: the checks read what is on the disk.
 */
export async function finishManagedDiskWrite(input: ManagedDiskStepInput): Promise<{ bytesWritten: number }> {
  const { ref, layout, disk } = await ownDisk(input);
  const footer = layout.footerBytes;
  const bytesWritten = footer?.length ?? 0;
  if (!UPLOADING.has(disk.diskState)) return { bytesWritten };
  // A disk never granted (ReadyToUpload) is granted once, so that the revoke ends its upload.
  if (footer || disk.diskState === 'ReadyToUpload') {
    const sas = await grantAccess(ref, 'Write', grantSecondsFor(bytesWritten));
    // A failed write is not revoked either: the retry writes the footer again.
    if (footer) await new DiskAccessBlob(sas, ref.id).write(footer, layout.diskBytes);
  }
  await revokeAccess(ref);
  return { bytesWritten };
}

/**
 * Check one slice (step 4), after the write finished: grants Read and reads the slice back
 * against the manifest. No revoke: the last step revokes every grant of the disk.
 */
export async function checkManagedDiskSlice(input: ManagedDiskSliceInput): Promise<ManagedDiskSliceCheck> {
  const { ref, layout, disk } = await ownDisk(input);
  if (UPLOADING.has(disk.diskState)) throw wrongState(ref, disk, 'reading back', 'it cannot be read before its upload has ended');
  const manifest = await readRecoveryPoint(input.vaultContainer, input.recoveryPointId);
  const slice = checkedSlice(manifest, input.slice);
  const sas = await grantAccess(ref, 'Read', grantSecondsFor(slice.end - slice.start));
  const scan = await checkDiskRange(new DiskAccessBlob(sas, ref.id), input.vaultContainer, manifest, layout, slice, input.concurrency ?? 8);
  return { blocksChecked: scan.blocksChecked, badBlocks: scan.badBlocks.slice(0, MAX_LISTED), badBlockCount: scan.badBlocks.length };
}

/**
 * Finish the check (step 5), after every slice was checked (`badBlocks`: what they found):
 * checks the zeros between the data and the footer, the footer and the size, revokes, and only
 * if nothing was wrong tags the disk `verified`; else `INTEGRITY_FAILED` naming the disk.
 */
export async function finishManagedDiskCheck(input: ManagedDiskStepInput & { badBlocks: number[] }): Promise<{ verified: true }> {
  const { ref, layout, disk } = await ownDisk(input);
  if (tagOf(disk, RESTORE_STATE_TAG) === 'verified') {
    // A retry after the tag: only a grant of an earlier attempt may be left.
    if (disk.diskState === 'ActiveSAS') await revokeAccess(ref);
    return { verified: true };
  }
  if (UPLOADING.has(disk.diskState)) throw wrongState(ref, disk, 'reading back', 'it cannot be read before its upload has ended');
  const problems = await withAccess(ref, 'Read', grantSecondsFor(layout.diskBytes - layout.dataBytes + VHD_FOOTER_BYTES), (sas) =>
    checkDiskEnd(new DiskAccessBlob(sas, ref.id), layout),
  );
  if (input.badBlocks.length > 0 || problems.length > 0) {
    throw errors.integrityFailed(`restored managed disk '${ref.id}'${problems.length ? ` (${problems.join('; ')})` : ''}`, input.badBlocks);
  }
  const tags = Object.fromEntries(Object.entries(disk.tags ?? {}).filter(([k]) => k.toLowerCase() !== RESTORE_STATE_TAG));
  await setDiskTags(ref, { ...tags, [RESTORE_STATE_TAG]: 'verified' });
  return { verified: true };
}

/**
 * Reads `range` of the disk back through a Read SAS and checks it against the manifest's block
 * hashes: bytes `[0, dataBytes)` from the disk; a dropped footer slot, past `dataBytes`, is taken
 * from the vault so the last block hashes as the point did.
 */
async function checkDiskRange(disk: DiskAccessBlob, container: ContainerClient, manifest: Manifest, layout: ManagedDiskLayout, range: ByteRange, concurrency: number): Promise<ScanResult> {
  const snapshot = snapshotOf(container, manifest);
  const { dataBytes } = layout;
  const slot = range.end > dataBytes ? await listAllocatedRanges(snapshot, undefined, { start: Math.max(dataBytes, range.start), end: range.end }) : [];
  const allocated = union(await disk.allocated(range.start, Math.min(range.end, dataBytes)), slot);
  const readInto = async (r: ByteRange, target: Buffer, offset: number): Promise<void> => {
    if (r.start < dataBytes) await disk.readInto({ start: r.start, end: Math.min(r.end, dataBytes) }, target, offset);
    if (r.end > dataBytes) {
      const from = Math.max(r.start, dataBytes);
      await readPageBlobInto(snapshot, { start: from, end: r.end }, target, offset + from - r.start);
    }
  };
  return scanAgainstManifest(container, manifest, { readInto, allocated, range, concurrency });
}

/** What is wrong past the point's data: the disk's size, non-zero bytes before the footer, the footer. */
async function checkDiskEnd(disk: DiskAccessBlob, layout: ManagedDiskLayout): Promise<string[]> {
  const problems: string[] = [];
  const size = await disk.sizeBytes();
  if (size !== layout.uploadSizeBytes) problems.push(`it is ${size} bytes where ${layout.uploadSizeBytes} were uploaded`);
  // Between the point's data and the footer the disk must read as zeros.
  const padding = await disk.allocated(layout.dataBytes, layout.diskBytes);
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
  return problems;
}

/**
 * The whole restore in one call: prepare, write every slice, finish the write, check every
 * slice, finish the check. One call has no later step to finish an upload, so when it fails it
 * revokes the disk's access (ending the upload; a retry with the same restore id then starts
 * the disk over), as the orchestration's discard does.
 */
export async function restoreToManagedDisk(input: RestoreToManagedDiskInput): Promise<ManagedDiskRestoreResult> {
  const prepared = await prepareManagedDiskRestore(input);
  const { slices, layout, bytesTotal, alreadyRestored, ...result } = prepared;
  if (alreadyRestored) return { ...result, bytesWritten: 0, blocksChecked: 0, alreadyRestored };
  const { access, vaultContainer, recoveryPointId, target, restoreId, updateIntervalInMs, concurrency, onProgress } = input;
  const step: ManagedDiskStepInput = { access, vaultContainer, recoveryPointId, target, restoreId, layout, ...(updateIntervalInMs === undefined ? {} : { updateIntervalInMs }) };
  const sliceStep = (slice: Slice): ManagedDiskSliceInput => ({ ...step, slice, ...(concurrency === undefined ? {} : { concurrency }) });
  try {
    let bytesWritten = 0;
    for (const slice of slices) {
      const before = bytesWritten;
      const progress = (p: { bytesDone: number }): void => onProgress?.({ bytesDone: before + p.bytesDone, bytesTotal });
      bytesWritten += (await writeManagedDiskSlice({ ...sliceStep(slice), onProgress: progress })).bytesWritten;
    }
    bytesWritten += (await finishManagedDiskWrite(step)).bytesWritten;
    onProgress?.({ bytesDone: bytesWritten, bytesTotal });
    let blocksChecked = 0;
    const badBlocks: number[] = [];
    for (const slice of slices) {
      const check = await checkManagedDiskSlice(sliceStep(slice));
      blocksChecked += check.blocksChecked;
      badBlocks.push(...check.badBlocks.slice(0, MAX_LISTED - badBlocks.length));
    }
    await finishManagedDiskCheck({ ...step, badBlocks });
    return { ...result, bytesWritten, blocksChecked, alreadyRestored };
  } catch (e) {
    return revokeAfterFailure(targetRef(access, target, updateIntervalInMs), e);
  }
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
