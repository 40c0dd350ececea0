/**
 * The central invariant as one property for every kind of disk source: for a random disk history
 * (writes, clears, overwrites across several backups), after each backup every retained recovery
 * point (retention keeps the newest two) restores to exactly the bytes of the source snapshot it
 * was taken from — cleared regions included, which must read as zeros — and verifies clean.
 *
 * A test supplies a DiskKind: how to make a disk of that kind, where its bytes are written (as a
 * VM would, through a page blob) and how to read back a source snapshot; its own checks go in the
 * kind's hooks. Backing up, retention, restoring and comparing are the same for every kind.
 */
import fc from 'fast-check';
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import type { DiskSource, SourceSnapshot } from '../../src/disks/diskSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { runBackup, type BackupOutcome } from '../../src/backup/runBackup';
import { deleteRecoveryPoint, listRecoveryPoints, readRecoveryPoint } from '../../src/catalog/recoveryPoints';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { verifyPageBlob } from '../../src/restore/verifyRecoveryPoint';
import { writePattern } from './diskData';
import { freshContainer, readWhole } from './storage';

export const PAGE_BYTES = 512;
export const MiB = 1024 * 1024;
/** Recovery points that retention keeps: the newest ones. */
const RETAINED_POINTS = 2;
/** What every backup after a chain's first asks for: the chain must keep its first size. */
const LATER_BLOCK_BYTES = MiB / 2;

/** One change to the disk: `pages` pages from `page` (cut at the disk's end) written with seeded data, or cleared. */
export type DiskOp = { kind: 'write' | 'clear'; page: number; pages: number; seed: number };
/** The ops of each step; a backup ends every step. */
export type DiskHistory = DiskOp[][];

/** One disk of a kind, made for one history. */
export interface DiskUnderTest {
  /** What the backups read. */
  readonly source: DiskSource;
  /** The disk's live bytes, written and cleared as a VM would. */
  readonly bytes: PageBlobClient;
  /** The whole content of a snapshot that `source` made. */
  readSnapshot(snapshot: SourceSnapshot): Promise<Buffer>;
}

/** What a kind's hooks see of one step of a history. */
export interface HistoryStep {
  readonly run: number;
  /** Index of the step (0: the chain's first, full backup). */
  readonly step: number;
  readonly disk: DiskUnderTest;
  /** The vault container (one per history). */
  readonly container: ContainerClient;
  readonly vault: VaultDisk;
  readonly outcome: BackupOutcome;
  /** The source snapshot the step's backup made. */
  readonly snapshot: SourceSnapshot;
}

/** A kind of disk source under the property. */
export interface DiskKind {
  /** Short lowercase name, the prefix of the vault containers. */
  readonly name: string;
  /** Size of every disk, in whole pages' bytes. */
  readonly diskBytes: number;
  /** A new disk of `diskBytes` for history number `run`; `container` is that history's vault. */
  createDisk(run: number, container: ContainerClient): Promise<DiskUnderTest>;
  /** Checks of this kind after each backup, before its snapshot is read. */
  afterBackup?(step: HistoryStep): void | Promise<void>;
  /** After retention deleted the points beyond the newest two, before the retained ones are restored. */
  afterRetention?(step: HistoryStep): void | Promise<void>;
  /** After the last step of a history. */
  afterHistory?(): void | Promise<void>;
}

export interface PropertyOptions {
  numRuns: number;
  /**
   * Hash block sizes a chain's first (full) backup asks for (undefined: the default, 1 MiB);
   * every later backup then asks for 512 KiB and each point must keep the first size. Without
   * it no backup asks for a block size.
   */
  chainBlockBytes?: fc.Arbitrary<number | undefined>;
}

/** One op anywhere on a disk of `diskPages` pages: writes twice as likely as clears, short runs as likely as long ones. */
export function diskOpArb(diskPages: number): fc.Arbitrary<DiskOp> {
  return fc.record({
    kind: fc.constantFrom('write', 'write', 'clear') as fc.Arbitrary<'write' | 'clear'>,
    page: fc.integer({ min: 0, max: diskPages - 1 }),
    pages: fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 4096 })),
    seed: fc.integer({ min: 0, max: 1_000_000 }),
  });
}

/** Two to four steps of up to six ops each on a disk of `diskBytes`. */
export function diskHistoryArb(diskBytes: number): fc.Arbitrary<DiskHistory> {
  return fc.array(fc.array(diskOpArb(diskBytes / PAGE_BYTES), { minLength: 0, maxLength: 6 }), { minLength: 2, maxLength: 4 });
}

/** Runs the property for `kind`: `numRuns` random histories, each on a new disk and a new vault container. */
export async function checkRestoreEqualsSource(kind: DiskKind, options: PropertyOptions): Promise<void> {
  await fc.assert(
    fc.asyncProperty(diskHistoryArb(kind.diskBytes), options.chainBlockBytes ?? fc.constant(undefined), async (history, blockBytes) => {
      await checkHistory(kind, history, options.chainBlockBytes ? { first: blockBytes } : undefined);
    }),
    { numRuns: options.numRuns, endOnFailure: true },
  );
}

let runs = 0;

/** One history: each step's ops, a backup, retention, then a restore of every retained point. */
async function checkHistory(kind: DiskKind, history: DiskHistory, blockBytes: { first: number | undefined } | undefined): Promise<void> {
  const run = runs++;
  const container = await freshContainer(`prop-${kind.name}`);
  const disk = await kind.createDisk(run, container);
  const vault = new VaultDisk(container, `disk-${run}`);
  const expected = new Map<string, Buffer>();

  for (const [index, ops] of history.entries()) {
    for (const op of ops) await applyOp(disk.bytes, kind.diskBytes, op);
    const jobId = `job-${run}-${index}`;
    const asked = blockBytes && (index === 0 ? blockBytes.first : LATER_BLOCK_BYTES);
    const outcome = await runBackup(disk.source, vault, jobId, { concurrency: 3, ...(asked ? { blockBytes: asked } : {}) });
    if (blockBytes) expect(outcome.recoveryPoint.blocks.sizeBytes).toBe(blockBytes.first ?? MiB);
    const snapshot = await disk.source.findSnapshot(jobId);
    if (!snapshot) throw new Error(`backup ${jobId} left no source snapshot`);
    const step: HistoryStep = { run, step: index, disk, container, vault, outcome, snapshot };
    await kind.afterBackup?.(step);
    expected.set(outcome.recoveryPoint.id, await disk.readSnapshot(snapshot));

    await applyRetention(vault, expected);
    await kind.afterRetention?.(step);
    await restoreEveryRetainedPoint(step, expected);
  }
  await kind.afterHistory?.();
  await container.delete();
}

/** Writes or clears the op's pages, cut at the end of a disk of `diskBytes`. */
async function applyOp(bytes: PageBlobClient, diskBytes: number, op: DiskOp): Promise<void> {
  const pages = Math.min(op.pages, diskBytes / PAGE_BYTES - op.page);
  const start = op.page * PAGE_BYTES;
  if (op.kind === 'clear') await bytes.clearPages(start, pages * PAGE_BYTES);
  else await writePattern(bytes, start, pages * PAGE_BYTES, (at) => op.seed + at);
}

/** Deletes, through the catalog, every point but the newest ones, and forgets their bytes. */
async function applyRetention(vault: VaultDisk, expected: Map<string, Buffer>): Promise<void> {
  for (const old of (await listRecoveryPoints(vault)).slice(RETAINED_POINTS)) {
    await deleteRecoveryPoint(vault.container, old.id);
    expected.delete(old.id);
  }
}

/** The retained points are exactly the expected ones, and each restores to its snapshot's bytes and verifies clean. */
async function restoreEveryRetainedPoint({ run, step, container, vault }: HistoryStep, expected: Map<string, Buffer>): Promise<void> {
  const retained = await listRecoveryPoints(vault);
  expect(retained.map((p) => p.id).sort()).toEqual([...expected.keys()].sort());
  for (const point of retained) {
    const target = container.getPageBlobClient(`restores/${point.id}-after-${step}.vhd`);
    await restoreToPageBlob(container, point.id, target, `restore-${run}-${step}-${point.id}`);
    expectSameBytes(await readWhole(target), expected.get(point.id)!, `restore of ${point.id} (after backup ${step})`);
    const verified = await verifyPageBlob(container, await readRecoveryPoint(container, point.id), target);
    expect(verified).toMatchObject({ ok: true, badBlocks: [] });
  }
}

/** `restored` has the length and every byte of `want`; else fails naming the first byte that differs. */
function expectSameBytes(restored: Buffer, want: Buffer, what: string): void {
  expect(restored.length).toBe(want.length);
  if (!restored.equals(want)) {
    throw new Error(`${what} differs from its source snapshot at byte ${restored.findIndex((b, i) => b !== want[i])}`);
  }
}
