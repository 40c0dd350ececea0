/**
 * The 512-byte footer of a *fixed* VHD (Virtual Hard Disk Image Format Specification 1.0,
 * "Hard Disk Footer Format"), which Azure requires at the end of every disk uploaded to a
 * managed disk (createOption Upload): the disk's bytes, then this footer. All integers are
 * big-endian.
 *
 * ```
 * offset size field
 * 0      8    cookie "conectix"
 * 8      4    features (bit 1 is reserved and always set: 0x00000002)
 * 12     4    file format version 0x00010000
 * 16     8    data offset: 0xFFFFFFFFFFFFFFFF for a fixed disk
 * 24     4    time stamp: seconds since 2000-01-01T00:00:00Z
 * 28     4    creator application (4 ASCII characters)
 * 32     4    creator version
 * 36     4    creator host OS ("Wi2k" 0x5769326B, "Mac " 0x4D616320)
 * 40     8    original size (bytes)
 * 48     8    current size (bytes): the disk's size, the footer excluded
 * 56     4    disk geometry: cylinders (u16), heads (u8), sectors per track (u8)
 * 60     4    disk type: 2 = fixed
 * 64     4    checksum: ones' complement of the sum of every footer byte but these four
 * 68     16   unique id (a UUID)
 * 84     1    saved state
 * 85     427  reserved, zeros
 * ```
 *
 * Pure: no I/O. `buildFixedVhdFooter` is deterministic in its input, so a retried restore writes
 * the very same footer.
 */
export const VHD_FOOTER_BYTES = 512;
export const VHD_COOKIE = 'conectix';
export const VHD_FEATURES_RESERVED = 0x00000002;
export const VHD_VERSION = 0x00010000;
export const VHD_DISK_TYPE_FIXED = 2;
/** The VHD epoch: 2000-01-01T00:00:00Z, in ms since the Unix epoch. */
export const VHD_EPOCH_MS = Date.UTC(2000, 0, 1);
/** `creatorApplication` deltavault writes. */
export const DELTAVAULT_CREATOR = 'dvlt';
/** "Wi2k": the host OS Azure's own tools and Hyper-V write. */
export const VHD_HOST_OS_WINDOWS = 0x5769326b;

const SECTOR = 512;

export interface DiskGeometry {
  cylinders: number;
  heads: number;
  sectorsPerTrack: number;
}

export interface VhdFooter {
  cookie: string;
  features: number;
  version: number;
  dataOffset: bigint;
  /** Seconds since 2000-01-01T00:00:00Z. */
  timestamp: number;
  creatorApplication: string;
  creatorVersion: number;
  creatorHostOs: number;
  originalSize: number;
  currentSize: number;
  geometry: DiskGeometry;
  diskType: number;
  checksum: number;
  /** 16 bytes. */
  uniqueId: Buffer;
  savedState: number;
}

/**
 * CHS geometry for a disk of `totalSectors` 512-byte sectors: the algorithm of the VHD
 * specification's appendix ("CHS Calculation"), integer arithmetic throughout. Disks larger
 * than 65535 × 16 × 255 sectors (about 127 GiB) get that maximum geometry; the current size,
 * not the geometry, is the disk's size.
 */
export function chsGeometry(totalSectors: number): DiskGeometry {
  if (!Number.isSafeInteger(totalSectors) || totalSectors < 0) throw new RangeError(`totalSectors must be a non-negative integer, got ${totalSectors}`);
  const sectors = Math.min(totalSectors, 65535 * 16 * 255);
  let sectorsPerTrack: number;
  let heads: number;
  let cylinderTimesHeads: number;
  if (sectors >= 65535 * 16 * 63) {
    sectorsPerTrack = 255;
    heads = 16;
    cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
  } else {
    sectorsPerTrack = 17;
    cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    heads = Math.floor((cylinderTimesHeads + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cylinderTimesHeads >= heads * 1024 || heads > 16) {
      sectorsPerTrack = 31;
      heads = 16;
      cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    }
    if (cylinderTimesHeads >= heads * 1024) {
      sectorsPerTrack = 63;
      heads = 16;
      cylinderTimesHeads = Math.floor(sectors / sectorsPerTrack);
    }
  }
  return { cylinders: Math.floor(cylinderTimesHeads / heads), heads, sectorsPerTrack };
}

/** Ones' complement of the sum of every byte of `footer` except the checksum field (64-67). */
export function vhdChecksum(footer: Buffer): number {
  let sum = 0;
  for (let i = 0; i < VHD_FOOTER_BYTES; i++) if (i < 64 || i > 67) sum += footer[i] ?? 0;
  return ~sum >>> 0;
}

export interface FixedFooterInput {
  /** The disk's size without the footer: a positive multiple of 512. */
  currentSize: number;
  /** Defaults to `currentSize`. */
  originalSize?: number;
  /** 16 bytes. */
  uniqueId: Buffer;
  /** Creation time; only whole seconds since 2000-01-01Z are stored. */
  createdAt: Date;
}

/** A valid fixed-VHD footer for a disk of `currentSize` bytes. */
export function buildFixedVhdFooter(input: FixedFooterInput): Buffer {
  const { currentSize } = input;
  const originalSize = input.originalSize ?? currentSize;
  if (!Number.isSafeInteger(currentSize) || currentSize <= 0 || currentSize % SECTOR !== 0) {
    throw new RangeError(`a fixed VHD's current size must be a positive multiple of ${SECTOR}, got ${currentSize}`);
  }
  if (!Number.isSafeInteger(originalSize) || originalSize < 0) throw new RangeError(`original size must be a non-negative integer, got ${originalSize}`);
  if (input.uniqueId.length !== 16) throw new RangeError(`the unique id must be 16 bytes, got ${input.uniqueId.length}`);
  const seconds = Math.floor((input.createdAt.getTime() - VHD_EPOCH_MS) / 1000);
  const footer = Buffer.alloc(VHD_FOOTER_BYTES);
  footer.write(VHD_COOKIE, 0, 'ascii');
  footer.writeUInt32BE(VHD_FEATURES_RESERVED, 8);
  footer.writeUInt32BE(VHD_VERSION, 12);
  footer.writeBigUInt64BE(0xffffffffffffffffn, 16);
  footer.writeUInt32BE(Math.min(Math.max(seconds, 0), 0xffffffff), 24);
  footer.write(DELTAVAULT_CREATOR, 28, 'ascii');
  footer.writeUInt32BE(0x00010000, 32);
  footer.writeUInt32BE(VHD_HOST_OS_WINDOWS, 36);
  footer.writeBigUInt64BE(BigInt(originalSize), 40);
  footer.writeBigUInt64BE(BigInt(currentSize), 48);
  const g = chsGeometry(currentSize / SECTOR);
  footer.writeUInt16BE(g.cylinders, 56);
  footer.writeUInt8(g.heads, 58);
  footer.writeUInt8(g.sectorsPerTrack, 59);
  footer.writeUInt32BE(VHD_DISK_TYPE_FIXED, 60);
  input.uniqueId.copy(footer, 68, 0, 16);
  footer.writeUInt8(0, 84);
  footer.writeUInt32BE(vhdChecksum(footer), 64);
  return footer;
}

/** The fields of a 512-byte footer, whatever they hold (no validation; see `isValidFixedFooter`). */
export function parseVhdFooter(bytes: Buffer): VhdFooter {
  if (bytes.length !== VHD_FOOTER_BYTES) throw new RangeError(`a VHD footer is ${VHD_FOOTER_BYTES} bytes, got ${bytes.length}`);
  return {
    cookie: bytes.toString('latin1', 0, 8),
    features: bytes.readUInt32BE(8),
    version: bytes.readUInt32BE(12),
    dataOffset: bytes.readBigUInt64BE(16),
    timestamp: bytes.readUInt32BE(24),
    creatorApplication: bytes.toString('latin1', 28, 32),
    creatorVersion: bytes.readUInt32BE(32),
    creatorHostOs: bytes.readUInt32BE(36),
    originalSize: Number(bytes.readBigUInt64BE(40)),
    currentSize: Number(bytes.readBigUInt64BE(48)),
    geometry: { cylinders: bytes.readUInt16BE(56), heads: bytes.readUInt8(58), sectorsPerTrack: bytes.readUInt8(59) },
    diskType: bytes.readUInt32BE(60),
    checksum: bytes.readUInt32BE(64),
    uniqueId: Buffer.from(bytes.subarray(68, 84)),
    savedState: bytes.readUInt8(84),
  };
}

/**
 * Whether `bytes` is a fixed-VHD footer Azure accepts for a disk of `currentSize` bytes: the
 * cookie, a fixed disk type, the fixed data offset, a right checksum, and that current size.
 * (Geometry, creator and time stamp are informational and not checked.)
 */
export function isValidFixedFooter(bytes: Buffer, currentSize?: number): boolean {
  if (bytes.length !== VHD_FOOTER_BYTES) return false;
  const f = parseVhdFooter(bytes);
  return (
    f.cookie === VHD_COOKIE &&
    f.diskType === VHD_DISK_TYPE_FIXED &&
    f.dataOffset === 0xffffffffffffffffn &&
    f.checksum === vhdChecksum(bytes) &&
    (f.version >>> 16) === 1 &&
    (currentSize === undefined || f.currentSize === currentSize)
  );
}
