/**
 * How a recovery point becomes the bytes of a managed disk uploaded with createOption Upload.
 * Azure takes a fixed VHD: the disk's bytes, a whole number of MiB between 20 MiB and 32 TiB,
 * then the 512-byte footer, and `uploadSizeBytes` is the size of both together. Pure: the caller
 * reads the point's last 512 bytes (after checking them against the manifest) and hands them in.
 *
 * - The point already ends in a valid fixed footer describing the bytes before it, and those
 *   are whole MiB in Azure's range (a page-blob VHD made for Azure): the point is uploaded as it
 *   is, footer included (`footer: 'kept'`). The disk is byte-for-byte the point.
 * - Otherwise the point's data is copied to offset 0 and a footer deltavault generates follows
 *   it at the next whole MiB (at least 20 MiB), zeros between (`footer: 'generated'`). The data
 *   is the whole point, except that the last 512 bytes are a footer slot — dropped, a new footer
 *   written instead — when they hold a footer (valid, but for a disk Azure would not take as it
 *   is: its unique id and original size are kept) or when the point is a managed disk's
 *   (`source.kind: 'managedDisk'`, whose access URL shows the disk as a VHD page blob of
 *   whole MiB plus 512 bytes, footer last, whether or not the footer bytes are there).
 */
import { errors } from '../errors';
import { buildFixedVhdFooter, isValidFixedFooter, parseVhdFooter, VHD_FOOTER_BYTES } from './vhdFooter';

const MiB = 1024 * 1024;
/** Smallest disk (without its footer) Azure accepts for upload. */
export const MIN_UPLOAD_DISK_BYTES = 20 * MiB;
/** Largest disk (without its footer) Azure accepts for upload: 32 TiB. */
export const MAX_UPLOAD_DISK_BYTES = 32 * 1024 * 1024 * MiB;

export interface ManagedDiskLayout {
  /** Bytes `[0, dataBytes)` of the recovery point go, unchanged, to the same offsets of the disk. */
  readonly dataBytes: number;
  /** The disk's size without its footer (ARM's `diskSizeBytes`): whole MiB. */
  readonly diskBytes: number;
  /** `creationData.uploadSizeBytes`: `diskBytes` + the 512-byte footer. */
  readonly uploadSizeBytes: number;
  /** `kept`: the point's own last 512 bytes are the footer; `generated`: `footerBytes` are written at `diskBytes`. */
  readonly footer: 'kept' | 'generated';
  /** The footer to write at `diskBytes` when generated. */
  readonly footerBytes?: Buffer;
}

export interface LayoutInput {
  /** The recovery point's size (manifest `sizeBytes`), a positive multiple of 512. */
  sizeBytes: number;
  sourceKind: 'pageBlob' | 'managedDisk';
  /** The point's last 512 bytes (as checked against the manifest). */
  lastSector: Buffer;
  /** Unique id of a generated footer (16 bytes) unless the point's own footer gives one. */
  uniqueId: Buffer;
  /** Time stamp of a generated footer: the recovery point's time. */
  createdAt: Date;
}

export function planManagedDiskLayout(input: LayoutInput): ManagedDiskLayout {
  const { sizeBytes } = input;
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % 512 !== 0) {
    throw errors.invalidArgument('recovery point size', `${sizeBytes} is not a positive multiple of 512`);
  }
  const hasFooter = sizeBytes > VHD_FOOTER_BYTES && isValidFixedFooter(input.lastSector, sizeBytes - VHD_FOOTER_BYTES);
  const slot = hasFooter || (input.sourceKind === 'managedDisk' && sizeBytes % MiB === VHD_FOOTER_BYTES);
  const content = slot ? sizeBytes - VHD_FOOTER_BYTES : sizeBytes;
  if (content > MAX_UPLOAD_DISK_BYTES) {
    throw errors.notSupported(`a recovery point of ${content} bytes is larger than the largest managed disk Azure takes by upload (32 TiB)`);
  }
  if (hasFooter && content % MiB === 0 && content >= MIN_UPLOAD_DISK_BYTES) {
    return { dataBytes: sizeBytes, diskBytes: content, uploadSizeBytes: sizeBytes, footer: 'kept' };
  }
  const diskBytes = Math.max(Math.ceil(content / MiB) * MiB, MIN_UPLOAD_DISK_BYTES);
  const old = hasFooter ? parseVhdFooter(input.lastSector) : undefined;
  const footerBytes = buildFixedVhdFooter({
    currentSize: diskBytes,
    originalSize: old?.originalSize ?? diskBytes,
    uniqueId: old?.uniqueId ?? input.uniqueId,
    createdAt: input.createdAt,
  });
  return { dataBytes: content, diskBytes, uploadSizeBytes: diskBytes + VHD_FOOTER_BYTES, footer: 'generated', footerBytes };
}
