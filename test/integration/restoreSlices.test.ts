/**
 * A restore in slices (one block-aligned range per call, so each fits an activity's time limit):
 * the slices of one restore id, in any order, give exactly the blob one call gives; each slice
 * checks and reads back only its own blocks, so a corrupted block fails the slice it is in.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { runBackup } from '../../src/backup/runBackup';
import { readRecoveryPoint } from '../../src/catalog/recoveryPoints';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { DeltavaultError } from '../../src/errors';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { writeJson } from '../../src/vault/jsonBlob';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { BLOCK_BYTES, vaultPaths } from '../../src/vault/vaultLayout';
import { pattern } from '../support/diskData';
import { freshContainer, readWhole } from '../support/storage';

const DISK_BYTES = 9 * BLOCK_BYTES;
const SLICE = 4 * BLOCK_BYTES; // window-aligned, as the workflow's slices are
let container: ContainerClient;
let disk: PageBlobClient;
let rpId: string;
let expected: Buffer;

beforeAll(async () => {
  container = await freshContainer('slices');
  disk = container.getPageBlobClient('vm/disk.vhd');
  await disk.create(DISK_BYTES);
  for (const [block, offset, bytes] of [
    [0, 0, 64 * 1024],
    [3, 4096, BLOCK_BYTES / 2],
    [4, 0, BLOCK_BYTES],
    [8, BLOCK_BYTES - 8192, 8192],
  ] as const) {
    await disk.uploadPages(pattern(`b${block}`, bytes), block * BLOCK_BYTES + offset, bytes);
  }
  const source = new PageBlobSource(container, disk);
  const { recoveryPoint } = await runBackup(source, new VaultDisk(container, 'sliced'), 'job-1');
  rpId = recoveryPoint.id;
  expected = await readWhole(disk.withSnapshot((await source.findSnapshot('job-1'))!.id));
});

afterAll(async () => container?.delete());

const slices = (): { start: number; end: number }[] => {
  const out = [];
  for (let start = 0; start < DISK_BYTES; start += SLICE) out.push({ start, end: Math.min(start + SLICE, DISK_BYTES) });
  return out;
};

test('the slices of one restore, in any order, make the whole point', async () => {
  const target = container.getPageBlobClient('restored/sliced.vhd');
  let written = 0;
  for (const range of slices().reverse()) written += (await restoreToPageBlob(container, rpId, target, 'restore-1', { range })).bytesWritten;
  expect((await readWhole(target)).equals(expected)).toBe(true);
  const whole = container.getPageBlobClient('restored/whole.vhd');
  expect((await restoreToPageBlob(container, rpId, whole, 'restore-2')).bytesWritten).toBe(written);
  // Another restore id may not write into the sliced restore's blob.
  await expect(restoreToPageBlob(container, rpId, target, 'restore-3', { range: slices()[0]! })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
});

test('a corrupted block fails only the slice that holds it', async () => {
  // Block 4 corrupted in a new vault snapshot the manifest is pointed at (its hashes still describe good data).
  const base = container.getPageBlobClient(vaultPaths.base('sliced'));
  const page = await base.downloadToBuffer(4 * BLOCK_BYTES, 512);
  page[7] = page[7]! ^ 0xff;
  await base.uploadPages(page, 4 * BLOCK_BYTES, 512);
  const { snapshot } = await base.createSnapshot();
  const manifest = await readRecoveryPoint(container, rpId);
  await writeJson(container, vaultPaths.manifest('sliced', rpId), { ...manifest, vault: { ...manifest.vault, snapshot: snapshot! } }, 'overwrite');

  const target = container.getPageBlobClient('restored/corrupt.vhd');
  const [first, second, third] = slices();
  await restoreToPageBlob(container, rpId, target, 'restore-4', { range: first! });
  const failure = await restoreToPageBlob(container, rpId, target, 'restore-4', { range: second! }).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(DeltavaultError);
  expect((failure as DeltavaultError).code).toBe('INTEGRITY_FAILED');
  expect((failure as DeltavaultError).details).toMatchObject({ badBlocks: [4] });
  await restoreToPageBlob(container, rpId, target, 'restore-4', { range: third! });
});
