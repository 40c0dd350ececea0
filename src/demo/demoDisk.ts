/**
 * The demo disk: a sparse 1 GiB page blob with a few MiB of data in scattered extents, and a
 * writer that changes a little of it each time it is called, so that every scheduled backup of
 * the demo is an incremental with something to copy. Writes and clears stay inside two 8 MiB
 * "hot" regions, so however long the demo runs, the disk keeps less than 20 MiB allocated.
 */
import { randomInt } from 'node:crypto';
import type { BlobServiceClient, PageBlobClient } from '@azure/storage-blob';
import { errors, isDeltavaultError, storageStatus } from '../errors';
import { clip, normalize, subtract, totalBytes, type ByteRange } from '../ranges/byteRange';
import { listAllocatedRanges } from '../util/pageBlobRanges';
import { DEMO } from './demoConfig';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Blob metadata that marks a completely seeded demo disk. */
export const DEMO_SEEDED_METADATA = { key: 'deltavaultdemo', value: 'seeded-v1' } as const;

/** Where seedDemoDisk puts data: 4.5 MiB in 7 extents, from the first MiB to the last. */
export const DEMO_SEED_EXTENTS: readonly ByteRange[] = [
  { start: 0, end: MiB },
  { start: 2 * MiB + 64 * KiB, end: 2 * MiB + 576 * KiB },
  { start: 96 * MiB, end: 96 * MiB + 768 * KiB },
  { start: 300 * MiB + 4 * KiB, end: 300 * MiB + 260 * KiB },
  { start: 512 * MiB, end: 513 * MiB },
  { start: 700 * MiB, end: 700 * MiB + 512 * KiB },
  { start: 1023 * MiB, end: 1023 * MiB + 512 * KiB },
];

/** Where writeSomeDemoChanges writes and clears. */
export const DEMO_CHANGE_REGIONS: readonly ByteRange[] = [
  { start: 0, end: 8 * MiB },
  { start: 512 * MiB, end: 520 * MiB },
];

/** Writes are 64-512 KiB, clears 64-256 KiB, both in 4 KiB steps at 4 KiB-aligned offsets. */
const STEP_BYTES = 4 * KiB;

export interface DemoDiskOptions {
  /** Default `demo-disks`. */
  container?: string;
  /** Default `demo/disk.vhd`. */
  blobName?: string;
}

export interface SeedResult {
  /** The blob did not exist and this call made it. */
  created: boolean;
  /** This call wrote the seed data (a new blob, or one whose seeding had not finished). */
  seeded: boolean;
}

export interface DemoChanges {
  /** Ranges now holding new data, normalized. */
  written: ByteRange[];
  /** Ranges cleared (empty in most rounds), normalized. */
  cleared: ByteRange[];
  bytesWritten: number;
  bytesCleared: number;
}

/** mulberry32: a small deterministic PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(random: () => number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 4) out.writeUInt32LE(Math.floor(random() * 4294967296), i);
  return out;
}

/** An integer in [min, max] in steps of `step`. */
function pick(random: () => number, min: number, max: number, step = 1): number {
  return min + Math.floor(random() * (Math.floor((max - min) / step) + 1)) * step;
}

function demoDisk(blobService: BlobServiceClient, options: DemoDiskOptions): PageBlobClient {
  return blobService.getContainerClient(options.container ?? DEMO.container).getPageBlobClient(options.blobName ?? DEMO.blobName);
}

/**
 * Makes the demo disk unless it is there: a 1 GiB page blob holding DEMO_SEED_EXTENTS of
 * deterministic data (the same bytes every time), marked seeded in its metadata once every extent
 * is written. Idempotent: a seeded disk is left alone (even if the demo writer changed it since),
 * and a disk whose seeding was interrupted is seeded again.
 */
export async function seedDemoDisk(blobService: BlobServiceClient, options: DemoDiskOptions = {}): Promise<SeedResult> {
  const disk = demoDisk(blobService, options);
  try {
    await blobService.getContainerClient(disk.containerName).createIfNotExists();
    let created = false;
    try {
      await disk.create(DEMO.sizeBytes, { conditions: { ifNoneMatch: '*' } });
      created = true;
    } catch (e) {
      const status = storageStatus(e);
      if (status !== 409 && status !== 412) throw e;
    }
    if (!created) {
      const props = await disk.getProperties();
      if (props.metadata?.[DEMO_SEEDED_METADATA.key] === DEMO_SEEDED_METADATA.value) return { created: false, seeded: false };
      if (props.contentLength !== DEMO.sizeBytes) await disk.resize(DEMO.sizeBytes);
    }
    for (const [i, extent] of DEMO_SEED_EXTENTS.entries()) {
      const length = extent.end - extent.start;
      await disk.uploadPages(randomBytes(prng(0xde70 + i), length), extent.start, length);
    }
    await disk.setMetadata({ [DEMO_SEEDED_METADATA.key]: DEMO_SEEDED_METADATA.value });
    return { created, seeded: true };
  } catch (e) {
    if (isDeltavaultError(e)) throw e;
    throw errors.storage(`seeding the demo disk ${disk.containerName}/${disk.name}`, e);
  }
}

export interface DemoChangeOptions extends DemoDiskOptions {
  /** Makes the changes reproducible: the same seed and round write the same ranges and bytes. Default: random. */
  seed?: number;
}

/**
 * Round `round` (0, 1, 2, …) of the demo's changes: writes 1-3 extents of 64-512 KiB of fresh
 * random bytes at random offsets inside DEMO_CHANGE_REGIONS, and in every third round (2, 5, 8, …)
 * then clears 64-256 KiB of a range that holds data there. Returns what changed.
 */
export async function writeSomeDemoChanges(blobService: BlobServiceClient, round: number, options: DemoChangeOptions = {}): Promise<DemoChanges> {
  const disk = demoDisk(blobService, options);
  const random = prng(((options.seed ?? randomInt(2 ** 31)) * 1_000_003 + round) >>> 0);
  const writes: ByteRange[] = [];
  let cleared: ByteRange[] = [];
  try {
    const count = pick(random, 1, 3);
    for (let i = 0; i < count; i++) {
      const region = DEMO_CHANGE_REGIONS[pick(random, 0, DEMO_CHANGE_REGIONS.length - 1)] as ByteRange;
      const length = pick(random, 64 * KiB, 512 * KiB, STEP_BYTES);
      const start = pick(random, region.start, region.end - length, STEP_BYTES);
      await disk.uploadPages(randomBytes(random, length), start, length);
      writes.push({ start, end: start + length });
    }
    if (round % 3 === 2) {
      const region = DEMO_CHANGE_REGIONS[pick(random, 0, DEMO_CHANGE_REGIONS.length - 1)] as ByteRange;
      const allocated = clip(await listAllocatedRanges(disk), region.start, region.end).filter((r) => r.end - r.start >= STEP_BYTES);
      const target = allocated[pick(random, 0, allocated.length - 1)];
      if (target) {
        const first = Math.ceil(target.start / STEP_BYTES) * STEP_BYTES;
        const last = Math.floor(target.end / STEP_BYTES) * STEP_BYTES;
        const length = Math.min(pick(random, 64 * KiB, 256 * KiB, STEP_BYTES), last - first);
        if (length > 0) {
          const start = pick(random, first, last - length, STEP_BYTES);
          await disk.clearPages(start, length);
          cleared = [{ start, end: start + length }];
        }
      }
    }
  } catch (e) {
    if (isDeltavaultError(e)) throw e;
    throw errors.storage(`writing demo changes to ${disk.containerName}/${disk.name}`, e);
  }
  const written = subtract(normalize(writes), cleared);
  return { written, cleared, bytesWritten: totalBytes(written), bytesCleared: totalBytes(cleared) };
}
