/**
 * The demo disk (src/demo/demoDisk.ts) on Azurite: seeding makes a sparse 1 GiB page blob with a
 * few MiB of deterministic data and is idempotent; the writer changes bytes inside its regions
 * (and sometimes clears a range), and the allocation stays small.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { totalBytes, type ByteRange } from '../../src/ranges/byteRange';
import { DEMO } from '../../src/demo/demoConfig';
import {
  DEMO_CHANGE_REGIONS,
  DEMO_SEED_EXTENTS,
  DEMO_SEEDED_METADATA,
  seedDemoDisk,
  writeSomeDemoChanges,
  type DemoChanges,
} from '../../src/demo/demoDisk';
import { listAllocatedRanges } from '../../src/util/pageBlobRanges';
import { freshContainer, testBlobService } from '../support/storage';

const MiB = 1024 * 1024;

async function read(disk: PageBlobClient, range: ByteRange): Promise<Buffer> {
  return disk.downloadToBuffer(range.start, range.end - range.start);
}

async function readAll(disk: PageBlobClient, ranges: readonly ByteRange[]): Promise<Buffer[]> {
  return Promise.all(ranges.map((r) => read(disk, r)));
}

const inside = (r: ByteRange, regions: readonly ByteRange[]) => regions.some((g) => r.start >= g.start && r.end <= g.end);

describe('seedDemoDisk', () => {
  let container: ContainerClient;
  let disk: PageBlobClient;

  beforeAll(async () => {
    container = await freshContainer('demo');
    disk = container.getPageBlobClient(DEMO.blobName);
  });

  test('makes a sparse 1 GiB page blob holding the seed extents, the same bytes every time', async () => {
    expect(await seedDemoDisk(testBlobService(), { container: container.containerName })).toEqual({ created: true, seeded: true });
    const props = await disk.getProperties();
    expect(props.contentLength).toBe(1024 * MiB);
    expect(props.blobType).toBe('PageBlob');
    expect(props.metadata?.[DEMO_SEEDED_METADATA.key]).toBe(DEMO_SEEDED_METADATA.value);

    const allocated = await listAllocatedRanges(disk);
    expect(allocated).toEqual(DEMO_SEED_EXTENTS);
    const bytes = totalBytes(allocated);
    expect(bytes).toBeGreaterThan(2 * MiB);
    expect(bytes).toBeLessThan(8 * MiB);

    // Another disk seeded elsewhere holds the same bytes.
    const other = await freshContainer('demo');
    await seedDemoDisk(testBlobService(), { container: other.containerName });
    const mine = await readAll(disk, DEMO_SEED_EXTENTS);
    const theirs = await readAll(other.getPageBlobClient(DEMO.blobName), DEMO_SEED_EXTENTS);
    expect(mine.every((b, i) => b.equals(theirs[i] as Buffer))).toBe(true);
    expect(mine.every((b) => b.some((x) => x !== 0))).toBe(true);
  });

  test('is idempotent: a seeded disk is left alone, changes and all', async () => {
    const before = await disk.getProperties();
    expect(await seedDemoDisk(testBlobService(), { container: container.containerName })).toEqual({ created: false, seeded: false });
    expect((await disk.getProperties()).etag).toBe(before.etag);
    await writeSomeDemoChanges(testBlobService(), 0, { container: container.containerName, seed: 1 });
    const changed = await disk.getProperties();
    expect(changed.etag).not.toBe(before.etag);
    expect(await seedDemoDisk(testBlobService(), { container: container.containerName })).toEqual({ created: false, seeded: false });
    expect((await disk.getProperties()).etag).toBe(changed.etag);
  });

  test('finishes a seeding that was interrupted (a blob without the seeded mark)', async () => {
    const other = await freshContainer('demo');
    const half = other.getPageBlobClient(DEMO.blobName);
    await half.create(64 * MiB);
    expect(await seedDemoDisk(testBlobService(), { container: other.containerName })).toEqual({ created: false, seeded: true });
    expect((await half.getProperties()).contentLength).toBe(1024 * MiB);
    expect(await listAllocatedRanges(half)).toEqual(DEMO_SEED_EXTENTS);
  });
});

describe('writeSomeDemoChanges', () => {
  let container: ContainerClient;
  let disk: PageBlobClient;

  beforeAll(async () => {
    container = await freshContainer('demo');
    await seedDemoDisk(testBlobService(), { container: container.containerName });
    disk = container.getPageBlobClient(DEMO.blobName);
  });

  test('each round writes 64 KiB-1.5 MiB of new bytes inside the change regions; every third round clears a range', async () => {
    const rounds: DemoChanges[] = [];
    for (let round = 0; round < 6; round++) {
      const regionBytesBefore = await readAll(disk, DEMO_CHANGE_REGIONS);
      const changes = await writeSomeDemoChanges(testBlobService(), round, { container: container.containerName, seed: 42 });
      rounds.push(changes);

      expect(changes.bytesWritten).toBe(totalBytes(changes.written));
      expect(changes.bytesWritten).toBeGreaterThanOrEqual(changes.cleared.length > 0 ? 0 : 64 * 1024);
      expect(changes.bytesWritten + changes.bytesCleared).toBeLessThanOrEqual(3 * 512 * 1024);
      for (const r of [...changes.written, ...changes.cleared]) {
        expect(inside(r, DEMO_CHANGE_REGIONS)).toBe(true);
        expect(r.start % 4096).toBe(0);
        expect(r.end % 4096).toBe(0);
      }
      // The written ranges hold different bytes than before (fresh random data).
      const regionBytesAfter = await readAll(disk, DEMO_CHANGE_REGIONS);
      expect(regionBytesAfter.some((b, i) => !b.equals(regionBytesBefore[i] as Buffer))).toBe(true);
      for (const r of changes.written) {
        const region = DEMO_CHANGE_REGIONS.findIndex((g) => r.start >= g.start && r.end <= g.end);
        const offset = r.start - (DEMO_CHANGE_REGIONS[region] as ByteRange).start;
        const before = (regionBytesBefore[region] as Buffer).subarray(offset, offset + r.end - r.start);
        const after = (regionBytesAfter[region] as Buffer).subarray(offset, offset + r.end - r.start);
        expect(after.equals(before)).toBe(false);
      }
      if (round % 3 === 2) {
        expect(changes.cleared).toHaveLength(1);
        const cleared = changes.cleared[0] as ByteRange;
        expect(cleared.end - cleared.start).toBeGreaterThanOrEqual(4096);
        // It now reads as zeros and is no longer allocated.
        expect((await read(disk, cleared)).every((x) => x === 0)).toBe(true);
        const allocatedAfter = await listAllocatedRanges(disk);
        expect(allocatedAfter.some((a) => a.start < cleared.end && a.end > cleared.start)).toBe(false);
      } else {
        expect(changes.cleared).toEqual([]);
      }
    }
    // Allocation stays within the seed plus the change regions.
    expect(totalBytes(await listAllocatedRanges(disk))).toBeLessThan(20 * MiB);
    expect(rounds.some((c) => c.written.length > 1)).toBe(true);
  });

  test('a seed makes the rounds reproducible; different seeds write elsewhere', async () => {
    const a = await freshContainer('demo');
    const b = await freshContainer('demo');
    for (const c of [a, b]) await seedDemoDisk(testBlobService(), { container: c.containerName });
    const first = await writeSomeDemoChanges(testBlobService(), 3, { container: a.containerName, seed: 7 });
    const again = await writeSomeDemoChanges(testBlobService(), 3, { container: b.containerName, seed: 7 });
    expect(again).toEqual(first);
    const [x, y] = await Promise.all([a, b].map((c) => readAll(c.getPageBlobClient(DEMO.blobName), first.written)));
    expect((x as Buffer[]).every((buf, i) => buf.equals((y as Buffer[])[i] as Buffer))).toBe(true);
    const other = await writeSomeDemoChanges(testBlobService(), 3, { container: b.containerName, seed: 8 });
    expect(other.written).not.toEqual(first.written);
  });
});
