/**
 * The fixed-VHD footer against the VHD specification (1.0): field offsets, checksum, CHS
 * geometry, sizes, parse-back; and the managed-disk upload layout built on it.
 */
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import {
  buildFixedVhdFooter,
  chsGeometry,
  isValidFixedFooter,
  parseVhdFooter,
  vhdChecksum,
  VHD_FOOTER_BYTES,
} from '../../src/restore/vhdFooter';
import { MAX_UPLOAD_DISK_BYTES, MIN_UPLOAD_DISK_BYTES, planManagedDiskLayout } from '../../src/restore/managedDiskLayout';
import { DeltavaultError } from '../../src/errors';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const UID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const AT = new Date('2024-03-05T07:08:09.010Z');

/** The byte sum of the footer with its checksum field taken as zero, as the spec defines it (independent of vhdChecksum). */
function byteSumWithoutChecksum(footer: Buffer): number {
  let sum = 0;
  footer.forEach((b, i) => {
    if (i < 64 || i >= 68) sum += b;
  });
  return sum;
}

describe('fixed VHD footer', () => {
  test('every field at the offset the specification gives', () => {
    const f = buildFixedVhdFooter({ currentSize: 20 * MiB, uniqueId: UID, createdAt: AT });
    expect(f.length).toBe(512);
    expect(f.toString('ascii', 0, 8)).toBe('conectix');
    expect(f.readUInt32BE(8)).toBe(0x00000002); // features: the reserved bit is always set
    expect(f.readUInt32BE(12)).toBe(0x00010000); // version 1.0
    expect(f.readBigUInt64BE(16)).toBe(0xffffffffffffffffn); // data offset of a fixed disk
    // Seconds since 2000-01-01T00:00:00Z.
    expect(f.readUInt32BE(24)).toBe(Math.floor((AT.getTime() - Date.UTC(2000, 0, 1)) / 1000));
    expect(f.readUInt32BE(24)).toBe(762937689);
    expect(f.toString('ascii', 28, 32)).toBe('dvlt');
    expect(f.readUInt32BE(36)).toBe(0x5769326b); // "Wi2k"
    expect(f.toString('ascii', 36, 40)).toBe('Wi2k');
    expect(f.readBigUInt64BE(40)).toBe(BigInt(20 * MiB)); // original size
    expect(f.readBigUInt64BE(48)).toBe(BigInt(20 * MiB)); // current size
    expect([f.readUInt16BE(56), f.readUInt8(58), f.readUInt8(59)]).toEqual([602, 4, 17]);
    expect(f.readUInt32BE(60)).toBe(2); // fixed
    expect(f.subarray(68, 84).equals(UID)).toBe(true);
    expect(f[84]).toBe(0); // saved state
    expect(f.subarray(85).every((b) => b === 0)).toBe(true); // 427 reserved bytes
  });

  test("checksum: the ones' complement of the byte sum, so sum + checksum = 0xFFFFFFFF", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 26 }).map((sectors) => sectors * 512),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }),
        (size, uid, at) => {
          const f = buildFixedVhdFooter({ currentSize: size, uniqueId: Buffer.from(uid), createdAt: at });
          const sum = byteSumWithoutChecksum(f);
          expect(f.readUInt32BE(64)).toBe(~sum >>> 0);
          expect((sum + f.readUInt32BE(64)) >>> 0).toBe(0xffffffff);
          expect(vhdChecksum(f)).toBe(f.readUInt32BE(64));
          expect(isValidFixedFooter(f, size)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('parse-back gives every field that was put in', () => {
    const f = buildFixedVhdFooter({ currentSize: 30 * GiB, originalSize: 10 * GiB, uniqueId: UID, createdAt: AT });
    const parsed = parseVhdFooter(f);
    expect(parsed).toEqual({
      cookie: 'conectix',
      features: 2,
      version: 0x00010000,
      dataOffset: 0xffffffffffffffffn,
      timestamp: 762937689,
      creatorApplication: 'dvlt',
      creatorVersion: 0x00010000,
      creatorHostOs: 0x5769326b,
      originalSize: 10 * GiB,
      currentSize: 30 * GiB,
      geometry: chsGeometry((30 * GiB) / 512),
      diskType: 2,
      checksum: vhdChecksum(f),
      uniqueId: UID,
      savedState: 0,
    });
  });

  test('a footer is valid only with the cookie, fixed type, data offset, right checksum and current size', () => {
    const good = buildFixedVhdFooter({ currentSize: 24 * MiB, uniqueId: UID, createdAt: AT });
    expect(isValidFixedFooter(good)).toBe(true);
    expect(isValidFixedFooter(good, 24 * MiB)).toBe(true);
    expect(isValidFixedFooter(good, 25 * MiB)).toBe(false);
    const damaged = (at: number, value: number, fixChecksum: boolean): Buffer => {
      const f = Buffer.from(good);
      f[at] = value;
      if (fixChecksum) f.writeUInt32BE(vhdChecksum(f), 64);
      return f;
    };
    expect(isValidFixedFooter(damaged(100, 1, false))).toBe(false); // checksum no longer right
    expect(isValidFixedFooter(damaged(100, 1, true))).toBe(true); // reserved bytes are not checked beyond the checksum
    expect(isValidFixedFooter(damaged(0, 'C'.charCodeAt(0), true))).toBe(false); // cookie
    expect(isValidFixedFooter(damaged(63, 3, true))).toBe(false); // dynamic disk
    expect(isValidFixedFooter(damaged(23, 0, true))).toBe(false); // data offset of a dynamic disk
    expect(isValidFixedFooter(Buffer.alloc(512))).toBe(false);
    expect(isValidFixedFooter(good.subarray(0, 511))).toBe(false);
  });

  test('refuses sizes that are not whole sectors and ids that are not 16 bytes', () => {
    expect(() => buildFixedVhdFooter({ currentSize: 1000, uniqueId: UID, createdAt: AT })).toThrow(RangeError);
    expect(() => buildFixedVhdFooter({ currentSize: 0, uniqueId: UID, createdAt: AT })).toThrow(RangeError);
    expect(() => buildFixedVhdFooter({ currentSize: 512, uniqueId: Buffer.alloc(15), createdAt: AT })).toThrow(RangeError);
    expect(() => parseVhdFooter(Buffer.alloc(511))).toThrow(RangeError);
  });
});

describe('CHS geometry (the specification\'s algorithm)', () => {
  test.each([
    // [disk bytes, cylinders, heads, sectors per track]
    [3 * MiB, 90, 4, 17],
    [20 * MiB, 602, 4, 17],
    [127 * MiB, 1019, 15, 17], // 260096 sectors: still 17 sectors per track, more heads
    [1 * GiB, 2080, 16, 63], // what Hyper-V shows for a 1 GiB VHD
    [2 * GiB, 4161, 16, 63],
    [32 * GiB, 16448, 16, 255],
    [(65535 * 16 * 63 - 1) * 512, 65534, 16, 63], // the largest with 63 sectors per track
    [65535 * 16 * 63 * 512, 16191, 16, 255], // the first with 255
    [127 * GiB, 65278, 16, 255],
    [128 * GiB, 65535, 16, 255], // past 65535 × 16 × 255 sectors: the maximum
    [4 * 1024 * GiB, 65535, 16, 255],
  ])('%d bytes → %d/%d/%d', (bytes, cylinders, heads, sectorsPerTrack) => {
    expect(chsGeometry(bytes / 512)).toEqual({ cylinders, heads, sectorsPerTrack });
  });

  test('never describes more sectors than the disk has, and stays inside the field widths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 * 16 * 255 }), (sectors) => {
        const g = chsGeometry(sectors);
        expect(g.cylinders * g.heads * g.sectorsPerTrack).toBeLessThanOrEqual(sectors);
        expect(g.cylinders).toBeLessThanOrEqual(65535);
        expect(g.heads).toBeGreaterThanOrEqual(4);
        expect(g.heads).toBeLessThanOrEqual(16);
        expect([17, 31, 63, 255]).toContain(g.sectorsPerTrack);
      }),
      { numRuns: 500 },
    );
  });
});

describe('managed-disk upload layout', () => {
  const zeros = Buffer.alloc(512);
  const layout = (sizeBytes: number, lastSector: Buffer, sourceKind: 'pageBlob' | 'managedDisk' = 'pageBlob') =>
    planManagedDiskLayout({ sizeBytes, sourceKind, lastSector, uniqueId: UID, createdAt: AT });

  test('a raw page blob: all of it is data, padded to whole MiB (at least 20 MiB), then a generated footer', () => {
    const l = layout(9 * MiB + 3 * 512, zeros);
    expect(l).toMatchObject({ dataBytes: 9 * MiB + 3 * 512, diskBytes: 20 * MiB, uploadSizeBytes: 20 * MiB + 512, footer: 'generated' });
    expect(isValidFixedFooter(l.footerBytes!, 20 * MiB)).toBe(true);
    expect(parseVhdFooter(l.footerBytes!).uniqueId).toEqual(UID);
    expect(layout(33 * MiB + 512, zeros)).toMatchObject({ dataBytes: 33 * MiB + 512, diskBytes: 34 * MiB, uploadSizeBytes: 34 * MiB + 512 });
    // The same input gives the same footer: a retried restore writes the same bytes.
    expect(layout(9 * MiB + 3 * 512, zeros).footerBytes!.equals(l.footerBytes!)).toBe(true);
  });

  test('a page blob that already is a fixed VHD Azure takes is uploaded as it is, footer included', () => {
    const own = buildFixedVhdFooter({ currentSize: 24 * MiB, uniqueId: randomBytes(16), createdAt: AT });
    expect(layout(24 * MiB + 512, own)).toEqual({ dataBytes: 24 * MiB + 512, diskBytes: 24 * MiB, uploadSizeBytes: 24 * MiB + 512, footer: 'kept' });
  });

  test('a VHD footer Azure would not take (too small, not whole MiB) is replaced, keeping its unique id and original size', () => {
    const oldId = randomBytes(16);
    const small = buildFixedVhdFooter({ currentSize: 10 * MiB, originalSize: 8 * MiB, uniqueId: oldId, createdAt: AT });
    const l = layout(10 * MiB + 512, small);
    expect(l).toMatchObject({ dataBytes: 10 * MiB, diskBytes: 20 * MiB, uploadSizeBytes: 20 * MiB + 512, footer: 'generated' });
    expect(parseVhdFooter(l.footerBytes!)).toMatchObject({ uniqueId: oldId, originalSize: 8 * MiB, currentSize: 20 * MiB });
    const odd = buildFixedVhdFooter({ currentSize: 30 * MiB + 1024, uniqueId: oldId, createdAt: AT });
    expect(layout(30 * MiB + 1024 + 512, odd)).toMatchObject({ dataBytes: 30 * MiB + 1024, diskBytes: 31 * MiB, footer: 'generated' });
  });

  test('a footer for another size, or a damaged one, is data', () => {
    const other = buildFixedVhdFooter({ currentSize: 23 * MiB, uniqueId: UID, createdAt: AT });
    expect(layout(24 * MiB + 512, other)).toMatchObject({ dataBytes: 24 * MiB + 512, diskBytes: 25 * MiB, footer: 'generated' });
    const damaged = Buffer.from(buildFixedVhdFooter({ currentSize: 24 * MiB, uniqueId: UID, createdAt: AT }));
    damaged[64] = damaged[64]! ^ 1;
    expect(layout(24 * MiB + 512, damaged)).toMatchObject({ dataBytes: 24 * MiB + 512, diskBytes: 25 * MiB });
  });

  test("a managed disk's point ends in a footer slot, replaced whether or not it holds a footer", () => {
    expect(layout(GiB + 512, zeros, 'managedDisk')).toMatchObject({ dataBytes: GiB, diskBytes: GiB, uploadSizeBytes: GiB + 512, footer: 'generated' });
    expect(layout(30 * MiB, zeros, 'managedDisk')).toMatchObject({ dataBytes: 30 * MiB, diskBytes: 30 * MiB, footer: 'generated' });
    const own = buildFixedVhdFooter({ currentSize: 32 * MiB, uniqueId: UID, createdAt: AT });
    expect(layout(32 * MiB + 512, own, 'managedDisk')).toMatchObject({ dataBytes: 32 * MiB + 512, footer: 'kept' });
  });

  test('a point larger than 32 TiB cannot be uploaded', () => {
    let caught: unknown;
    try {
      layout(MAX_UPLOAD_DISK_BYTES + MiB, zeros);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DeltavaultError);
    expect((caught as DeltavaultError).code).toBe('NOT_SUPPORTED');
    expect(layout(MAX_UPLOAD_DISK_BYTES, zeros)).toMatchObject({ diskBytes: MAX_UPLOAD_DISK_BYTES, uploadSizeBytes: MAX_UPLOAD_DISK_BYTES + 512 });
  });

  test('for any point: an upload size Azure takes, the data fits, the footer describes the disk', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: (64 * GiB) / 512 }).map((n) => n * 512),
        fc.constantFrom('pageBlob' as const, 'managedDisk' as const),
        fc.boolean(),
        (sizeBytes, kind, withFooter) => {
          const last = withFooter && sizeBytes > 512 ? buildFixedVhdFooter({ currentSize: sizeBytes - 512, uniqueId: UID, createdAt: AT }) : zeros;
          const l = layout(sizeBytes, last, kind);
          expect(l.uploadSizeBytes % MiB).toBe(512);
          expect(l.diskBytes).toBeGreaterThanOrEqual(MIN_UPLOAD_DISK_BYTES);
          expect(l.uploadSizeBytes).toBe(l.diskBytes + VHD_FOOTER_BYTES);
          expect(l.dataBytes).toBeGreaterThanOrEqual(sizeBytes - 512);
          expect(l.dataBytes).toBeLessThanOrEqual(sizeBytes);
          if (l.footer === 'kept') {
            expect(l.dataBytes).toBe(l.uploadSizeBytes);
            expect(l.footerBytes).toBeUndefined();
          } else {
            expect(l.dataBytes).toBeLessThanOrEqual(l.diskBytes);
            expect(isValidFixedFooter(l.footerBytes!, l.diskBytes)).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
