/**
 * The central invariant, property-based against a real Azurite: for a random disk history
 * (writes, clears, overwrites across several backups), restoring every retained recovery
 * point yields exactly the bytes of the source snapshot it was taken from — cleared regions
 * included, which must read as zeros.
 */
import fc from 'fast-check';
import type { ContainerClient } from '@azure/storage-blob';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import type { DiffFidelity } from '../../src/disks/diskSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { runBackup } from '../../src/backup/runBackup';
import { deleteRecoveryPoint, listRecoveryPoints } from '../../src/catalog/recoveryPoints';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { verifyPageBlob } from '../../src/restore/verifyRecoveryPoint';
import { readRecoveryPoint } from '../../src/catalog/recoveryPoints';
import { writePattern } from '../support/diskData';
import { freshContainer, readWhole } from '../support/storage';

const PAGE = 512;
const DISK_BYTES = 9 * 1024 * 1024 + 3 * PAGE; // three 4 MiB blocks, the last one partial
const DISK_PAGES = DISK_BYTES / PAGE;

type Op = { kind: 'write' | 'clear'; page: number; pages: number; seed: number };

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('write', 'write', 'clear') as fc.Arbitrary<'write' | 'clear'>,
  page: fc.integer({ min: 0, max: DISK_PAGES - 1 }),
  pages: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4096 })),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});
const historyArb = fc.array(fc.array(opArb, { minLength: 0, maxLength: 6 }), { minLength: 2, maxLength: 4 });
/** Hash block size of the chain: the default, or one given to its first (full) backup. */
const blockBytesArb = fc.constantFrom(undefined, 128 * 1024, 4 * 1024 * 1024);
const MiB = 1024 * 1024;

async function apply(container: ContainerClient, blobName: string, op: Op): Promise<void> {
  const disk = container.getPageBlobClient(blobName);
  const pages = Math.min(op.pages, DISK_PAGES - op.page);
  const start = op.page * PAGE;
  if (op.kind === 'clear') {
    await disk.clearPages(start, pages * PAGE);
    return;
  }
  await writePattern(disk, start, pages * PAGE, (at) => op.seed + at);
}

async function checkHistory(fidelity: DiffFidelity, history: Op[][], blockBytes: number | undefined, run: number): Promise<void> {
  const container = await freshContainer(`prop-${fidelity}`);
  const diskBlob = container.getPageBlobClient(`vm${run}/os.vhd`);
  await diskBlob.create(DISK_BYTES);
  const source = new PageBlobSource(container, diskBlob, { diffFidelity: fidelity });
  const vault = new VaultDisk(container, `disk-${run}`);
  const expected = new Map<string, Buffer>();

  for (const [step, ops] of history.entries()) {
    for (const op of ops) await apply(container, diskBlob.name, op);
    const jobId = `job-${run}-${step}`;
    // Later backups ask for another block size: a chain keeps the one it started with.
    const asked = step === 0 ? blockBytes : MiB / 2;
    const { recoveryPoint } = await runBackup(source, vault, jobId, { concurrency: 3, ...(asked ? { blockBytes: asked } : {}) });
    expect(recoveryPoint.blocks.sizeBytes).toBe(blockBytes ?? MiB);
    const snapshot = await source.findSnapshot(jobId);
    expected.set(recoveryPoint.id, await readWhole(diskBlob.withSnapshot(snapshot!.id)));

    // Retention keeps the newest two: delete the rest through the catalog.
    const points = await listRecoveryPoints(vault);
    for (const old of points.slice(2)) {
      await deleteRecoveryPoint(container, old.id);
      expected.delete(old.id);
    }
    const retained = await listRecoveryPoints(vault);
    expect(retained.map((p) => p.id).sort()).toEqual([...expected.keys()].sort());

    for (const point of retained) {
      const target = container.getPageBlobClient(`restores/${point.id}-after-${step}.vhd`);
      await restoreToPageBlob(container, point.id, target, `restore-${run}-${step}-${point.id}`);
      const restored = await readWhole(target);
      const want = expected.get(point.id)!;
      expect(restored.length).toBe(want.length);
      if (!restored.equals(want)) {
        const firstDiff = restored.findIndex((b, i) => b !== want[i]);
        throw new Error(`restore of ${point.id} (after backup ${step}) differs from its source snapshot at byte ${firstDiff}`);
      }
      const verified = await verifyPageBlob(container, await readRecoveryPoint(container, point.id), target);
      expect(verified).toMatchObject({ ok: true, badBlocks: [] });
    }
  }
  await container.delete();
}

describe('restore of every retained recovery point equals its source snapshot', () => {
  let run = 0;
  for (const fidelity of ['superset', 'exact'] as const) {
    test(`random disk histories, ${fidelity} diff`, async () => {
      await fc.assert(
        fc.asyncProperty(historyArb, blockBytesArb, async (history, blockBytes) => {
          await checkHistory(fidelity, history, blockBytes, run++);
        }),
        { numRuns: 6, endOnFailure: true },
      );
    }, 600_000);
  }
});
