/**
 * A failure injected in the middle of a copy (the chunk's reads start throwing after some of
 * its Put Page writes have landed in the vault base blob) loses no earlier recovery point, and
 * the next backup — a new job after the orchestrator abandons the failed one, or the same job
 * retried — produces a recovery point whose restore is byte-for-byte its source snapshot.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import type { DiffFidelity, DiskSource, SnapshotReader, SourceSnapshot } from '../../src/disks/diskSource';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
// The copy moves data in 4 MiB windows; a failure lands between windows, so this test's
// 'blocks' are windows (each holds several hashed blocks).
import { WINDOW_BYTES as BLOCK_BYTES, vaultPaths } from '../../src/vault/vaultLayout';
import { runBackup } from '../../src/backup/runBackup';
import { planBackup } from '../../src/backup/planBackup';
import { copyChunk } from '../../src/backup/copyChunk';
import { sealRecoveryPoint } from '../../src/backup/sealRecoveryPoint';
import { abandonBackup } from '../../src/backup/abandonBackup';
import type { PlanSummary } from '../../src/backup/jobDocuments';
import { listRecoveryPoints, readRecoveryPoint } from '../../src/catalog/recoveryPoints';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { verifyRecoveryPoint } from '../../src/restore/verifyRecoveryPoint';
import { isDeltavaultError } from '../../src/errors';
import { writePattern } from '../support/diskData';
import { freshContainer, readWhole } from '../support/storage';

const KiB = 1024;
const MiB = 1024 * KiB;
const DISK_BYTES = 4 * BLOCK_BYTES; // 16 MiB: four windows
/** Two blocks per chunk: every job's delta touches every block, so it has two chunks. */
const CHUNK_BUDGET_BYTES = 2 * BLOCK_BYTES;

/** Writes seeded data; each 4 MiB Put Page gets its own seed. */
const write = (disk: PageBlobClient, offset: number, bytes: number, seed: string): Promise<void> =>
  writePattern(disk, offset, bytes, (at) => `${seed}@${at}`);

const block = (index: number, offset = 0): number => index * BLOCK_BYTES + offset;

/**
 * The source disk, delegating to the real PageBlobSource, except that its snapshot readers
 * throw once `failAfterReads` reads have succeeded (counted over every reader it opens).
 */
class FailingSource implements DiskSource {
  readonly kind: DiskSource['kind'];
  readonly description: string;
  reads = 0;
  failures = 0;

  constructor(
    private readonly inner: DiskSource,
    private readonly failAfterReads: number,
  ) {
    this.kind = inner.kind;
    this.description = inner.description;
  }

  diffFidelity(): Promise<DiffFidelity> {
    return this.inner.diffFidelity();
  }
  createSnapshot(jobId: string): Promise<SourceSnapshot> {
    return this.inner.createSnapshot(jobId);
  }
  findSnapshot(jobId: string): Promise<SourceSnapshot | undefined> {
    return this.inner.findSnapshot(jobId);
  }
  listSnapshots(): Promise<SourceSnapshot[]> {
    return this.inner.listSnapshots();
  }
  getSnapshot(snapshotId: string): Promise<SourceSnapshot> {
    return this.inner.getSnapshot(snapshotId);
  }
  deleteSnapshot(snapshotId: string): Promise<void> {
    return this.inner.deleteSnapshot(snapshotId);
  }
  allocatedRangePages(snapshotId: string, abortSignal?: AbortSignal) {
    return this.inner.allocatedRangePages(snapshotId, abortSignal);
  }
  changedRangePages(prevSnapshotId: string, snapshotId: string, abortSignal?: AbortSignal) {
    return this.inner.changedRangePages(prevSnapshotId, snapshotId, abortSignal);
  }
  async openReader(snapshotId: string): Promise<SnapshotReader> {
    const reader = await this.inner.openReader(snapshotId);
    return {
      readInto: async (range, target, targetOffset, abortSignal) => {
        if (this.reads >= this.failAfterReads) {
          this.failures++;
          throw new Error(`injected read failure at bytes ${range.start}-${range.end - 1} after ${this.reads} reads`);
        }
        await reader.readInto(range, target, targetOffset, abortSignal);
        this.reads++;
      },
      close: () => reader.close(),
    };
  }
}

interface Fixture {
  container: ContainerClient;
  disk: PageBlobClient;
  source: PageBlobSource;
  vault: VaultDisk;
  /** Source snapshot content of every recovery point, by recovery point id. */
  expected: Map<string, Buffer>;
  restores: number;
}

async function newFixture(fidelity: DiffFidelity, name: string): Promise<Fixture> {
  const container = await freshContainer(`midcopy-${fidelity}`);
  const disk = container.getPageBlobClient(`vm/${name}.vhd`);
  await disk.create(DISK_BYTES);
  return {
    container,
    disk,
    source: new PageBlobSource(container, disk, { diffFidelity: fidelity }),
    vault: new VaultDisk(container, name),
    expected: new Map(),
    restores: 0,
  };
}

async function snapshotContent(f: Fixture, jobId: string): Promise<Buffer> {
  const snapshot = await f.source.findSnapshot(jobId);
  if (!snapshot) throw new Error(`no source snapshot for ${jobId}`);
  return readWhole(f.disk.withSnapshot(snapshot.id));
}

async function backup(f: Fixture, jobId: string): Promise<string> {
  const { recoveryPoint } = await runBackup(f.source, f.vault, jobId, { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
  f.expected.set(recoveryPoint.id, await snapshotContent(f, jobId));
  return recoveryPoint.id;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  expect(actual.length).toBe(expected.length);
  const at = firstDifference(actual, expected);
  if (at !== -1) throw new Error(`${what} differs from its source snapshot at byte ${at} (block ${Math.floor(at / BLOCK_BYTES)})`);
}

/** Every recovery point listed is exactly the set expected, restores byte-for-byte and verifies. */
async function expectEveryPointRestorable(f: Fixture): Promise<void> {
  const listed = await listRecoveryPoints(f.vault);
  expect(listed.map((p) => p.id).sort()).toEqual([...f.expected.keys()].sort());
  for (const [rpId, want] of f.expected) {
    await expect(verifyRecoveryPoint(f.container, rpId)).resolves.toMatchObject({ recoveryPointId: rpId, ok: true, badBlocks: [] });
    const n = f.restores++;
    const target = f.container.getPageBlobClient(`restores/${n}-${rpId}.vhd`);
    await restoreToPageBlob(f.container, rpId, target, `restore-${n}`);
    expectSameBytes(await readWhole(target), want, `restore of ${rpId}`);
  }
}

function blockOf(content: Buffer, index: number): Buffer {
  return content.subarray(block(index), block(index + 1));
}

/** Disk history before the failure: data in every block. */
async function writeV1(disk: PageBlobClient): Promise<void> {
  await write(disk, block(0), 512 * KiB, 'v1-b0');
  await write(disk, block(1, 1 * MiB), 1 * MiB, 'v1-b1');
  await write(disk, block(2, 128 * KiB), 2 * MiB, 'v1-b2');
  await write(disk, block(3, 3 * MiB), 256 * KiB, 'v1-b3');
}

async function writeV2(disk: PageBlobClient): Promise<void> {
  await write(disk, block(1, 1 * MiB + 64 * KiB), 64 * KiB, 'v2-b1');
  await disk.clearPages(block(3, 3 * MiB), 128 * KiB);
  await write(disk, block(3, 1 * MiB), 1 * MiB, 'v2-b3');
}

/** "Change much of the disk": new data in every block, and pages cleared in blocks 2 and 3. */
async function writeV3(disk: PageBlobClient): Promise<void> {
  await write(disk, block(0, 256 * KiB), 1 * MiB, 'v3-b0');
  await write(disk, block(1), 2 * MiB, 'v3-b1');
  await write(disk, block(2, 64 * KiB), 1 * MiB, 'v3-b2');
  // Kept under the copier's 256 KiB read-coalescing gap, so block 2 is fetched with one read.
  await disk.clearPages(block(2, 1 * MiB + 64 * KiB), 128 * KiB);
  await write(disk, block(3, 512 * KiB), 2 * MiB, 'v3-b3');
  await disk.clearPages(block(3, 3 * MiB), 1 * MiB);
}

interface FailedJob {
  jobId: string;
  plan: PlanSummary;
  /** Content of the failed job's source snapshot. */
  content: Buffer;
}

/**
 * Starts `jobId` step by step and makes it fail in the middle of its copy: chunk 0 is copied
 * by a healthy source when there is more than one chunk; the next chunk's source reads throw
 * after the first read, with one block in flight, so that block's writes have landed and the
 * rest of the chunk and the chunks after it never ran.
 */
async function failJobMidCopy(f: Fixture, jobId: string): Promise<FailedJob> {
  const snapshot = await f.source.createSnapshot(jobId);
  const plan = await planBackup(f.source, f.vault, jobId, snapshot, { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
  const content = await readWhole(f.disk.withSnapshot(snapshot.id));
  const failing = plan.chunks.length > 1 ? 1 : 0;
  for (let i = 0; i < failing; i++) await copyChunk(f.source, f.vault, jobId, i);

  const flaky = new FailingSource(f.source, 1);
  const error = await copyChunk(flaky, f.vault, jobId, failing, { concurrency: 1 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  expect(isDeltavaultError(error)).toBe(true);
  expect(String((error as Error).cause)).toMatch(/injected read failure/);
  expect(flaky.reads).toBe(1);
  expect(flaky.failures).toBe(1);
  // The failed chunk left no done marker, so the seal cannot pretend it was copied.
  expect(await f.container.getBlobClient(vaultPaths.chunkDone(f.vault.diskKey, jobId, failing)).exists()).toBe(false);
  await expect(sealRecoveryPoint(f.vault, jobId)).rejects.toMatchObject({ code: 'CHAIN_BROKEN' });
  return { jobId, plan, content };
}

/** How the base blob reads now, block by block, against the content it had and the one it was heading for. */
function expectHalfWritten(base: Buffer, before: Buffer, after: Buffer, landedBlocks: number): void {
  const blocks = DISK_BYTES / BLOCK_BYTES;
  for (let i = 0; i < blocks; i++) {
    const want = i < landedBlocks ? after : before;
    if (!blockOf(base, i).equals(blockOf(want, i))) {
      throw new Error(`base block ${i} should hold the ${i < landedBlocks ? 'new' : 'old'} data after the failure`);
    }
  }
  expect(base.equals(before)).toBe(false);
  expect(base.equals(after)).toBe(false);
}

/** Two good backups, then job 3 fails in its second chunk, after block 2 was written. */
async function twoPointsThenFailure(f: Fixture): Promise<{ rp1: string; rp2: string; failed: FailedJob }> {
  await writeV1(f.disk);
  const rp1 = await backup(f, 'job-1');
  await writeV2(f.disk);
  const rp2 = await backup(f, 'job-2');
  expect(rp2).not.toBe(rp1);

  await writeV3(f.disk);
  const failed = await failJobMidCopy(f, 'job-3');
  expect(failed.plan.mode).toBe('incremental');
  expect(failed.plan.chunks.map((c) => c.index)).toEqual([0, 1]);
  // Chunk 0 (blocks 0–1) and block 2 of chunk 1 were written; block 3 still holds job 2's data.
  expectHalfWritten(await readWhole(f.vault.base), f.expected.get(rp2)!, failed.content, 3);

  // (a) Nothing new is listed, and every earlier point is intact.
  await expectEveryPointRestorable(f);
  return { rp1, rp2, failed };
}

describe.each(['superset', 'exact'] as const)('a failure in the middle of a copy (%s diff)', (fidelity) => {
  test('loses no earlier recovery point; after the job is abandoned a new job makes a correct one', async () => {
    const f = await newFixture(fidelity, 'abandon');
    const { rp2 } = await twoPointsThenFailure(f);

    // More changes before the next job: put some of job 2's data back over what job 3 half-wrote,
    // clear pages job 3 wrote, and write somewhere job 3 never reached.
    await f.disk.uploadPages(blockOf(f.expected.get(rp2)!, 1), block(1), BLOCK_BYTES);
    await f.disk.clearPages(block(0, 256 * KiB), 256 * KiB);
    await write(f.disk, block(3, 64 * KiB), 64 * KiB, 'v4-b3');

    // The failed job still holds the base blob's write lease: a new job is refused until the
    // orchestrator abandons the failed one (its snapshot stays; the retry below reuses it).
    await expect(runBackup(f.source, f.vault, 'job-4', { chunkBudgetBytes: CHUNK_BUDGET_BYTES })).rejects.toMatchObject({
      code: 'BASE_LEASED',
    });
    expect(await listRecoveryPoints(f.vault)).toHaveLength(2);

    await abandonBackup(f.vault, 'job-3');
    const leftovers: string[] = [];
    for await (const item of f.container.listBlobsFlat({ prefix: vaultPaths.jobPrefix(f.vault.diskKey, 'job-3') })) leftovers.push(item.name);
    expect(leftovers).toEqual([]);

    const rp4 = await backup(f, 'job-4');
    const manifest = await readRecoveryPoint(f.container, rp4);
    expect(manifest).toMatchObject({ mode: 'incremental', previousRecoveryPointId: rp2, jobId: 'job-4' });
    expect(f.expected.size).toBe(3);
    await expectEveryPointRestorable(f);
    await f.container.delete();
  }, 60_000);

  test('loses no earlier recovery point; the same job retried makes a correct one', async () => {
    const f = await newFixture(fidelity, 'retry');
    const { rp2, failed } = await twoPointsThenFailure(f);

    // The orchestrator retries the failed chunk (and runs the ones after it) with a healthy source.
    for (const chunk of failed.plan.chunks) {
      await expect(copyChunk(f.source, f.vault, failed.jobId, chunk.index)).resolves.toMatchObject({ index: chunk.index });
    }
    const sealed = await sealRecoveryPoint(f.vault, failed.jobId);
    expect(sealed).toMatchObject({ mode: 'incremental', previousRecoveryPointId: rp2, jobId: failed.jobId });
    f.expected.set(sealed.id, failed.content);

    // And the chain goes on from the retried point.
    await write(f.disk, block(2, 2 * MiB), 512 * KiB, 'v4-b2');
    const rp4 = await backup(f, 'job-4');
    expect((await readRecoveryPoint(f.container, rp4)).previousRecoveryPointId).toBe(sealed.id);
    await expectEveryPointRestorable(f);
    await f.container.delete();
  }, 60_000);

  test('a failure during the first backup ever, then a new job, makes a correct recovery point', async () => {
    const f = await newFixture(fidelity, 'first');
    await writeV1(f.disk);
    const failed = await failJobMidCopy(f, 'job-1');
    expect(failed.plan.mode).toBe('full');
    expect(failed.plan.chunks).toHaveLength(2);
    // Chunk 0 (blocks 0–1) and block 2 were written; block 3 of the base is still empty.
    expectHalfWritten(await readWhole(f.vault.base), Buffer.alloc(DISK_BYTES), failed.content, 3);
    expect(await listRecoveryPoints(f.vault)).toEqual([]);

    // Pages the failed job wrote are cleared on the disk before the next job, which must clear them in the base too.
    await f.disk.clearPages(block(0), 256 * KiB);
    await f.disk.clearPages(block(2, 128 * KiB), 1 * MiB);
    await write(f.disk, block(3, 1 * MiB), 128 * KiB, 'v2-b3');

    await abandonBackup(f.vault, 'job-1');
    const rp = await backup(f, 'job-2');
    expect(await readRecoveryPoint(f.container, rp)).toMatchObject({ mode: 'full', previousRecoveryPointId: null });

    await write(f.disk, block(3), 128 * KiB, 'v3-b3');
    await backup(f, 'job-3');
    await expectEveryPointRestorable(f);
    await f.container.delete();
  }, 60_000);
});
