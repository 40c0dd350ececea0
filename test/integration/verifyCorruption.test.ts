/**
 * Verify detects a corrupted block and reports exactly that block. A vault snapshot is
 * immutable, so silent corruption is simulated: bytes of the vault base blob are changed
 * inside one block, the base is snapshotted, and the recovery point's manifest is pointed at
 * that snapshot (nothing else in it changes, so its block hashes still describe the good data).
 * Restored blobs are corrupted directly.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { BLOCK_BYTES, RECOVERY_POINT_METADATA_KEY, vaultPaths } from '../../src/vault/vaultLayout';
import { checkBlockHashes, readBlockHashes, writeBlockHashes } from '../../src/vault/blockHashList';
import { hashListExpectation } from '../../src/vault/manifest';
import { writeJson } from '../../src/vault/jsonBlob';
import { runBackup } from '../../src/backup/runBackup';
import { readRecoveryPoint } from '../../src/catalog/recoveryPoints';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { verifyPageBlob, verifyRecoveryPoint } from '../../src/restore/verifyRecoveryPoint';
import { DeltavaultError } from '../../src/errors';
import { pattern } from '../support/diskData';
import { freshContainer, readWhole } from '../support/storage';

// Layouts are written for a 4 MiB block and scale with the real one: here a 'MiB' is a quarter
// block and a 'KiB' a 1024th of that (still whole pages).
const MiB = BLOCK_BYTES / 4;
const KiB = MiB / 1024;
const PAGE = 512;
const DISK_BYTES = 7 * BLOCK_BYTES; // seven blocks
/** Blocks that never hold data, so no manifest lists them: one between listed blocks, and the last one. */
const EMPTY_BLOCK = 4;
const LAST_BLOCK = 6;

const at = (block: number, offset = 0): number => block * BLOCK_BYTES + offset;

async function write(disk: PageBlobClient, offset: number, bytes: number, seed: string): Promise<void> {
  await disk.uploadPages(pattern(seed, bytes), offset, bytes);
}

/** Inverts 16 bytes in the middle of the page at `offset` (which must hold data). */
async function flipBytes(blob: PageBlobClient, offset: number): Promise<void> {
  const page = await blob.downloadToBuffer(offset, PAGE);
  for (let i = 200; i < 216; i++) page[i] = page[i]! ^ 0xff;
  await blob.uploadPages(page, offset, PAGE);
}

interface Fixture {
  container: ContainerClient;
  disk: PageBlobClient;
  vault: VaultDisk;
  /** Two recovery points, oldest first, with their source snapshot content. */
  points: { id: string; content: Buffer }[];
}

/** Two backups of a disk with data in blocks 0, 1, 2, 3 and 5 (blocks 4 and 6 stay empty). */
async function twoBackups(name: string): Promise<Fixture> {
  const container = await freshContainer(`verify-${name}`);
  const disk = container.getPageBlobClient(`vm/${name}.vhd`);
  await disk.create(DISK_BYTES);
  const source = new PageBlobSource(container, disk);
  const vault = new VaultDisk(container, name);
  const points: Fixture['points'] = [];

  await write(disk, at(0), 512 * KiB, 'b0');
  await write(disk, at(1, 1 * MiB), 1 * MiB, 'b1');
  await write(disk, at(2, 256 * KiB), 2 * MiB, 'b2');
  await write(disk, at(3, 3 * MiB), 1 * MiB, 'b3');
  await write(disk, at(5), 256 * KiB, 'b5');
  for (const jobId of ['job-1', 'job-2']) {
    if (jobId === 'job-2') {
      await write(disk, at(2, 1 * MiB), 64 * KiB, 'b2-v2');
      await write(disk, at(1), 128 * KiB, 'b1-v2');
    }
    const { recoveryPoint } = await runBackup(source, vault, jobId);
    const snapshot = await source.findSnapshot(jobId);
    points.push({ id: recoveryPoint.id, content: await readWhole(disk.withSnapshot(snapshot!.id)) });
  }
  // The tests rely on blocks 4 and 6 being absent from the hash lists.
  const listed: number[] = [];
  const manifest = await readRecoveryPoint(container, points[1]!.id);
  for await (const record of readBlockHashes(container, manifest.blocks.blob)) listed.push(record.index);
  expect(listed).toEqual([0, 1, 2, 3, 5]);
  return { container, disk, vault, points };
}

/**
 * Changes the vault data of recovery point `rpId` behind its manifest's back: `damage` runs
 * on the base blob, the base is snapshotted, and the manifest is rewritten to name that
 * snapshot. Returns the corrupted snapshot's id.
 */
async function corruptRecoveryPoint(f: Fixture, rpId: string, damage: (base: PageBlobClient) => Promise<void>): Promise<string> {
  const manifest = await readRecoveryPoint(f.container, rpId);
  const base = f.container.getPageBlobClient(manifest.vault.baseBlob);
  // The seal releases the job's write lease; should a lease linger anyway, break it.
  if ((await base.getProperties()).leaseState === 'leased') await base.getBlobLeaseClient().breakLease(0);
  await damage(base);
  const { snapshot } = await base.createSnapshot();
  expect(snapshot).toBeTruthy();
  await writeJson(
    f.container,
    vaultPaths.manifest(manifest.diskKey, rpId),
    { ...manifest, vault: { ...manifest.vault, snapshot } },
    'overwrite',
    { [RECOVERY_POINT_METADATA_KEY]: rpId },
  );
  expect((await readRecoveryPoint(f.container, rpId)).vault.snapshot).toBe(snapshot);
  return snapshot!;
}

async function restoreError(f: Fixture, rpId: string, targetName: string): Promise<DeltavaultError> {
  const target = f.container.getPageBlobClient(targetName);
  const error = await restoreToPageBlob(f.container, rpId, target, `restore-${targetName}`).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeltavaultError);
  return error as DeltavaultError;
}

describe('verify detects a corrupted block and reports exactly that block', () => {
  // [what, the block k damaged, blocks verify reads (the 5 listed ones, and k if unlisted), damage]
  test.each([
    ['bytes flipped in', 2, 5, (base: PageBlobClient) => flipBytes(base, at(2, 1 * MiB + 8 * KiB))],
    ['pages cleared (data lost) in', 3, 5, (base: PageBlobClient) => base.clearPages(at(3, 3 * MiB + 64 * KiB), 4 * KiB).then(() => undefined)],
    ['data written into the empty part of', 0, 5, (base: PageBlobClient) => write(base, at(0, 2 * MiB), 4 * KiB, 'stray')],
    ['data written into the unlisted', EMPTY_BLOCK, 6, (base: PageBlobClient) => write(base, at(EMPTY_BLOCK, 512 * KiB), 4 * KiB, 'stray')],
    ['data written into the unlisted last', LAST_BLOCK, 6, (base: PageBlobClient) => write(base, at(LAST_BLOCK, 3 * MiB), 4 * KiB, 'stray')],
  ])('a vault snapshot with %s block %i', async (_what, k, blocksChecked, damage) => {
    const f = await twoBackups(`rp-${k}`);
    const [older, newer] = f.points as [Fixture['points'][0], Fixture['points'][0]];
    await expect(verifyRecoveryPoint(f.container, newer.id)).resolves.toMatchObject({ ok: true, badBlocks: [] });

    await corruptRecoveryPoint(f, newer.id, damage);

    const verified = await verifyRecoveryPoint(f.container, newer.id);
    expect(verified).toEqual({ recoveryPointId: newer.id, ok: false, blocksChecked, badBlocks: [k] });

    const error = await restoreError(f, newer.id, 'restores/corrupt.vhd');
    expect(error.code).toBe('INTEGRITY_FAILED');
    expect(error.details?.badBlocks).toEqual([k]);
    expect(error.message).toContain(newer.id);

    // The untouched recovery point still verifies and restores exactly.
    await expect(verifyRecoveryPoint(f.container, older.id)).resolves.toEqual({
      recoveryPointId: older.id,
      ok: true,
      blocksChecked: 5,
      badBlocks: [],
    });
    const target = f.container.getPageBlobClient('restores/older.vhd');
    await restoreToPageBlob(f.container, older.id, target, 'restore-older');
    expect((await readWhole(target)).equals(older.content)).toBe(true);
    await f.container.delete();
  }, 60_000);

  test('a restored blob: flipped bytes in one block, data in blocks the manifest does not list', async () => {
    const f = await twoBackups('restored');
    const point = f.points[1]!;
    const manifest = await readRecoveryPoint(f.container, point.id);
    const restore = async (name: string): Promise<PageBlobClient> => {
      const target = f.container.getPageBlobClient(`restores/${name}.vhd`);
      await restoreToPageBlob(f.container, point.id, target, `restore-${name}`);
      expect((await readWhole(target)).equals(point.content)).toBe(true);
      return target;
    };

    const good = await restore('good');
    await expect(verifyPageBlob(f.container, manifest, good)).resolves.toEqual({
      recoveryPointId: point.id,
      ok: true,
      blocksChecked: 5,
      badBlocks: [],
    });

    const flipped = await restore('flipped');
    await flipBytes(flipped, at(1, 1 * MiB + 512 * KiB));
    await expect(verifyPageBlob(f.container, manifest, flipped)).resolves.toMatchObject({ ok: false, badBlocks: [1] });

    // Blocks 4 and 6 are listed by no manifest: they must read as zeros, so data there is corruption…
    for (const k of [EMPTY_BLOCK, LAST_BLOCK]) {
      const stray = await restore(`stray-${k}`);
      await write(stray, at(k, 1 * MiB), 4 * KiB, 'stray');
      await expect(verifyPageBlob(f.container, manifest, stray)).resolves.toEqual({
        recoveryPointId: point.id,
        ok: false,
        blocksChecked: 6,
        badBlocks: [k],
      });
    }

    // …but zeros written there (allocated pages that read as zeros) are not.
    const zeros = await restore('zeros');
    await zeros.uploadPages(Buffer.alloc(4 * KiB), at(EMPTY_BLOCK, 1 * MiB), 4 * KiB);
    await expect(verifyPageBlob(f.container, manifest, zeros)).resolves.toEqual({
      recoveryPointId: point.id,
      ok: true,
      blocksChecked: 6,
      badBlocks: [],
    });
    await f.container.delete();
  }, 60_000);
});

test('a hash list naming a block past the disk\'s end is refused as it is read, naming that block', async () => {
  const f = await twoBackups('rp-past-end');
  const [, newer] = f.points as [Fixture['points'][0], Fixture['points'][0]];
  const manifest = await readRecoveryPoint(f.container, newer.id);
  const blockCount = Math.ceil(manifest.sizeBytes / manifest.blocks.sizeBytes);
  // A well-formed list (header, ascending records) whose last record lies past the disk.
  async function* records(): AsyncGenerator<{ index: number; hash: Buffer }> {
    yield { index: 0, hash: Buffer.alloc(32, 1) };
    yield { index: blockCount, hash: Buffer.alloc(32, 2) };
  }
  const name = `${manifest.blocks.blob}.crafted`;
  await writeBlockHashes(f.container, name, manifest.blocks.sizeBytes, records());
  await expect(checkBlockHashes(f.container, name, hashListExpectation(manifest))).rejects.toMatchObject({
    code: 'MANIFEST_INVALID',
    message: expect.stringContaining(`block ${blockCount} lies past the disk's end (it has ${blockCount} blocks)`),
  });
  await f.container.delete();
}, 60_000);
