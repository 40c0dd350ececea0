/**
 * The vault's safety rules, against a real Azurite: one writer per base blob (the write lease,
 * shared by every retry of one job), idempotent retries of every backup step, restores that
 * never overwrite what they did not make, clear errors for unknown or malformed recovery point
 * ids and for manifests of an unknown version, and a chain head that is not deleted by accident.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import type { SourceSnapshot } from '../../src/disks/diskSource';
import type { PlanSummary } from '../../src/backup/jobDocuments';
import { VaultDisk } from '../../src/vault/vaultDisk';
// Chunks are cut along the copy's 4 MiB windows, so this test's 'blocks' are windows.
import { WINDOW_BYTES as BLOCK_BYTES, recoveryPointId, vaultPaths } from '../../src/vault/vaultLayout';
import { holdLease, leaseIdForJob } from '../../src/vault/baseLease';
import { readChain } from '../../src/vault/chainState';
import { readRecoveryPoint, deleteRecoveryPoint, listRecoveryPoints } from '../../src/catalog/recoveryPoints';
import { runBackup } from '../../src/backup/runBackup';
import { planBackup } from '../../src/backup/planBackup';
import { copyChunk } from '../../src/backup/copyChunk';
import { sealRecoveryPoint } from '../../src/backup/sealRecoveryPoint';
import { abandonBackup } from '../../src/backup/abandonBackup';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { verifyRecoveryPoint } from '../../src/restore/verifyRecoveryPoint';
import { listAllocatedRanges } from '../../src/util/pageBlobRanges';
import { pattern } from '../support/diskData';
import { freshContainer, readWhole } from '../support/storage';

const KiB = 1024;
const MiB = 1024 * KiB;
const DISK_BYTES = 3 * BLOCK_BYTES;
const CHUNK_BUDGET_BYTES = BLOCK_BYTES; // one window per chunk: several chunks on a small disk

interface Fixture {
  container: ContainerClient;
  disk: PageBlobClient;
  source: PageBlobSource;
  vault: VaultDisk;
}

async function newDisk(name: string): Promise<Fixture> {
  const container = await freshContainer(`safety-${name}`);
  const disk = container.getPageBlobClient(`vm/${name}.vhd`);
  await disk.create(DISK_BYTES);
  await writeSome(disk, 'v1');
  return { container, disk, source: new PageBlobSource(container, disk), vault: new VaultDisk(container, name) };
}

/** Writes data into every block of the disk (different data for every `seed`). */
async function writeSome(disk: PageBlobClient, seed: string): Promise<void> {
  for (let block = 0; block < DISK_BYTES / BLOCK_BYTES; block++) {
    await disk.uploadPages(pattern(`${seed}-${block}`, 256 * KiB), block * BLOCK_BYTES + block * MiB, 256 * KiB);
  }
}

async function backup(f: Fixture, jobId: string): Promise<{ id: string; content: Buffer }> {
  const { recoveryPoint } = await runBackup(f.source, f.vault, jobId, { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
  const snapshot = await f.source.findSnapshot(jobId);
  return { id: recoveryPoint.id, content: await readWhole(f.disk.withSnapshot(snapshot!.id)) };
}

/** A disk backed up once (job-1), changed, snapshotted and planned again (job-2), not copied yet. */
async function secondJobPlanned(name: string): Promise<{ f: Fixture; snapshot: SourceSnapshot; plan: PlanSummary }> {
  const f = await newDisk(name);
  await backup(f, 'job-1');
  await writeSome(f.disk, 'v2');
  const snapshot = await f.source.createSnapshot('job-2');
  const plan = await planBackup(f.source, f.vault, 'job-2', snapshot, { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
  return { f, snapshot, plan };
}

/** How many snapshots the vault base blob has (one per sealed recovery point). */
async function baseSnapshotCount(f: Fixture): Promise<number> {
  let n = 0;
  for await (const snapshot of f.vault.baseSnapshots()) {
    void snapshot;
    n++;
  }
  return n;
}

async function expectRestoreEquals(f: Fixture, rpId: string, content: Buffer, targetName: string): Promise<void> {
  const target = f.container.getPageBlobClient(targetName);
  await restoreToPageBlob(f.container, rpId, target, `restore-${targetName}`);
  expect((await readWhole(target)).equals(content)).toBe(true);
}

const baseLeased = { code: 'BASE_LEASED', message: expect.stringMatching(/another job is writing the vault base blob/) };

describe('vault safety', () => {
  test('one writer per base blob: another job is refused while a job holds the write lease; its own retries share it', async () => {
    const f = await newDisk('lease');
    const { vault, source } = f;

    // Job B plans, then stalls until its lease runs out (released here rather than waiting 60 s).
    const planB = await planBackup(source, vault, 'job-b', await source.createSnapshot('job-b'), { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
    expect(planB.chunks.length).toBeGreaterThan(1);
    await vault.base.getBlobLeaseClient(leaseIdForJob('job-b')).releaseLease();

    // Job A takes the lease.
    const leaseA = await holdLease(vault.base, vault.diskKey, 'job-a');
    try {
      expect(leaseA.leaseId).toBe(leaseIdForJob('job-a'));
      expect((await vault.base.getProperties()).leaseState).toBe('leased');

      // Neither B's retried copy nor a new job C's plan may write now.
      await expect(copyChunk(source, vault, 'job-b', 0)).rejects.toMatchObject(baseLeased);
      const snapshotC = await source.createSnapshot('job-c');
      await expect(planBackup(source, vault, 'job-c', snapshotC)).rejects.toMatchObject(baseLeased);
      expect(await listAllocatedRanges(vault.base)).toEqual([]);

      // Every activity of job A (and every retry) holds the same lease, so none is refused.
      const again = await holdLease(vault.base, vault.diskKey, 'job-a');
      expect(again.leaseId).toBe(leaseA.leaseId);
      await again.stop(false);
      const planA = await planBackup(source, vault, 'job-a', await source.createSnapshot('job-a'), { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
      await copyChunk(source, vault, 'job-a', 0);
      await expect(copyChunk(source, vault, 'job-b', 1)).rejects.toMatchObject(baseLeased);
      for (const chunk of planA.chunks) await copyChunk(source, vault, 'job-a', chunk.index);
      expect((await vault.base.getProperties()).leaseState).toBe('leased');
    } finally {
      await leaseA.stop(true);
    }
    expect((await vault.base.getProperties()).leaseState).toBe('available');

    const sealed = await sealRecoveryPoint(vault, 'job-a');
    expect(sealed.jobId).toBe('job-a');
    // The seal gives the lease back: the next job is not kept waiting.
    expect((await vault.base.getProperties()).leaseState).toBe('available');
    const snapshotA = await source.findSnapshot('job-a');
    await expectRestoreEquals(f, sealed.id, await readWhole(f.disk.withSnapshot(snapshotA!.id)), 'restores/a.vhd');
    await f.container.delete();
  }, 60_000);

  test('a stale job (its lease lapsed, another job sealed since it planned) is refused before it writes', async () => {
    const f = await newDisk('stale');
    await backup(f, 'job-0');
    await writeSome(f.disk, 'v2');
    const staleSnapshot = await f.source.createSnapshot('job-b');
    await planBackup(f.source, f.vault, 'job-b', staleSnapshot, { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
    // Job B's lease lapses (released here instead of waiting 60 s); job A runs and seals.
    await f.vault.base.getBlobLeaseClient(leaseIdForJob('job-b')).releaseLease();
    await writeSome(f.disk, 'v3');
    const a = await backup(f, 'job-a');
    const baseBefore = await readWhole(f.vault.base);

    await expect(copyChunk(f.source, f.vault, 'job-b', 0)).rejects.toMatchObject({ code: 'CHAIN_CONFLICT' });
    // Job A planned against the base after job B: B may not snapshot it either.
    await expect(sealRecoveryPoint(f.vault, 'job-b')).rejects.toMatchObject({ code: 'CHAIN_CONFLICT', message: expect.stringContaining('job job-a planned against it since') });
    expect((await readWhole(f.vault.base)).equals(baseBefore)).toBe(true);
    expect((await readChain(f.container, 'stale')).state.head?.recoveryPointId).toBe(a.id);
    await expectRestoreEquals(f, a.id, a.content, 'restores/stale-a.vhd');
  });

  test('two jobs planned against the same head, the first one\'s lease lapsed: the base is the later planner\'s, the first stops before it writes', async () => {
    const f = await newDisk('interleave');
    await backup(f, 'job-0');
    await writeSome(f.disk, 'v2');
    const snapshotB = await f.source.createSnapshot('job-b');
    const planB = await planBackup(f.source, f.vault, 'job-b', snapshotB, { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
    // Job B's lease lapses between its steps; job C plans against the same head meanwhile (the
    // chain has not moved: nothing sealed), and so takes the base over.
    await f.vault.base.getBlobLeaseClient(leaseIdForJob('job-b')).releaseLease();
    await writeSome(f.disk, 'v3');
    const snapshotC = await f.source.createSnapshot('job-c');
    const planC = await planBackup(f.source, f.vault, 'job-c', snapshotC, { chunkBudgetBytes: CHUNK_BUDGET_BYTES });
    await f.vault.base.getBlobLeaseClient(leaseIdForJob('job-c')).releaseLease();
    const baseBefore = await readWhole(f.vault.base);

    // B's steps are refused without a write, although the chain's ETag is still the one B planned with.
    for (const chunk of planB.chunks) {
      await expect(copyChunk(f.source, f.vault, 'job-b', chunk.index)).rejects.toMatchObject({ code: 'CHAIN_CONFLICT', details: { writer: 'job-c' } });
    }
    expect((await readWhole(f.vault.base)).equals(baseBefore)).toBe(true);
    await expect(sealRecoveryPoint(f.vault, 'job-b')).rejects.toMatchObject({ code: 'CHAIN_CONFLICT' });
    // B's orchestration gives up (abandonBackup releases B's lease; otherwise it lapses in 60 s).
    await abandonBackup(f.vault, 'job-b');

    // C runs to the end, and its point is exactly its snapshot.
    for (const chunk of planC.chunks) await copyChunk(f.source, f.vault, 'job-c', chunk.index);
    const sealed = await sealRecoveryPoint(f.vault, 'job-c');
    await expectRestoreEquals(f, sealed.id, await readWhole(f.disk.withSnapshot(snapshotC.id)), 'restores/interleave-c.vhd');
    expect((await listRecoveryPoints(f.vault)).map((p) => p.jobId).sort()).toEqual(['job-0', 'job-c']);
    await f.container.delete();
  }, 60_000);

  test('retried steps are idempotent: snapshot, plan, copy and seal give the same answers and make nothing twice', async () => {
    const { f, snapshot, plan } = await secondJobPlanned('retry');
    const { vault, source } = f;
    await expect(source.createSnapshot('job-2')).resolves.toEqual(snapshot);
    expect((await source.listSnapshots()).filter((s) => s.jobId === 'job-2')).toEqual([snapshot]);
    expect(plan.mode).toBe('incremental');
    expect(plan.chunks.length).toBeGreaterThan(1);
    await expect(planBackup(source, vault, 'job-2', snapshot, { chunkBudgetBytes: CHUNK_BUDGET_BYTES })).resolves.toEqual(plan);

    for (const chunk of plan.chunks) {
      const first = await copyChunk(source, vault, 'job-2', chunk.index);
      await expect(copyChunk(source, vault, 'job-2', chunk.index)).resolves.toEqual(first);
    }

    const sealed = await sealRecoveryPoint(vault, 'job-2');
    expect((await listRecoveryPoints(vault)).map((p) => p.id)).toContain(sealed.id);
    expect((await listRecoveryPoints(vault)).filter((p) => p.jobId === 'job-2')).toHaveLength(1);
    expect((await readChain(f.container, vault.diskKey)).state.head?.recoveryPointId).toBe(sealed.id);
    await expectRestoreEquals(f, sealed.id, await readWhole(f.disk.withSnapshot(snapshot.id)), 'restores/job-2.vhd');
    await f.container.delete();
  }, 60_000);

  test('a seal before every chunk is copied is refused before it snapshots the base; once they are, it seals the whole', async () => {
    const { f, snapshot, plan } = await secondJobPlanned('early');
    const { vault, source } = f;
    expect(plan.chunks.length).toBeGreaterThan(1);
    const baseSnapshots = (): Promise<number> => baseSnapshotCount(f);
    const before = await baseSnapshots();
    const [first, ...rest] = plan.chunks;
    await copyChunk(source, vault, 'job-2', first!.index);
    await expect(sealRecoveryPoint(vault, 'job-2')).rejects.toMatchObject({
      code: 'CHAIN_BROKEN',
      message: expect.stringContaining(`chunk ${rest[0]!.index} of ${plan.chunks.length} has not been copied`),
    });
    // Nothing became visible, and no snapshot of the half-copied base exists for a retry to reuse.
    expect(await baseSnapshots()).toBe(before);
    expect((await listRecoveryPoints(vault)).filter((p) => p.jobId === 'job-2')).toHaveLength(0);

    for (const chunk of rest) await copyChunk(source, vault, 'job-2', chunk.index);
    const sealed = await sealRecoveryPoint(vault, 'job-2');
    expect(await baseSnapshots()).toBe(before + 1);
    await expectRestoreEquals(f, sealed.id, await readWhole(f.disk.withSnapshot(snapshot.id)), 'restores/early.vhd');
    await f.container.delete();
  }, 60_000);

  test('a seal retried after it finished returns the same recovery point', async () => {
    // An activity can run again after it succeeded (its result was lost with a host restart).
    const f = await newDisk('reseal');
    const { vault, source } = f;
    const plan = await planBackup(source, vault, 'job-1', await source.createSnapshot('job-1'));
    for (const chunk of plan.chunks) await copyChunk(source, vault, 'job-1', chunk.index);
    const sealed = await sealRecoveryPoint(vault, 'job-1');

    await expect(sealRecoveryPoint(vault, 'job-1')).resolves.toMatchObject({ id: sealed.id });
    expect((await listRecoveryPoints(vault)).map((p) => p.id)).toEqual([sealed.id]);
    expect(await baseSnapshotCount(f)).toBe(1);
    await f.container.delete();
  }, 60_000);

  test('a restore never overwrites a blob it did not make, and a retried restore resumes its own', async () => {
    const f = await newDisk('restore');
    const point = await backup(f, 'job-1');

    // A blob that was there before (same size, so only its origin tells them apart).
    const existing = f.container.getPageBlobClient('restores/existing.vhd');
    await existing.create(DISK_BYTES);
    const theirs = pattern('theirs', 64 * KiB);
    await existing.uploadPages(theirs, 0, theirs.length);
    await expect(restoreToPageBlob(f.container, point.id, existing, 'restore-1')).rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
      message: expect.stringContaining('restores/existing.vhd'),
    });
    expect((await existing.downloadToBuffer(0, theirs.length)).equals(theirs)).toBe(true);
    expect(await listAllocatedRanges(existing)).toEqual([{ start: 0, end: theirs.length }]);

    // The same restore run again (a retried activity) finishes into its own target…
    const mine = f.container.getPageBlobClient('restores/mine.vhd');
    await restoreToPageBlob(f.container, point.id, mine, 'restore-2');
    await expect(restoreToPageBlob(f.container, point.id, mine, 'restore-2')).resolves.toMatchObject({ recoveryPointId: point.id });
    expect((await readWhole(mine)).equals(point.content)).toBe(true);
    // …but another restore may not write over it.
    await expect(restoreToPageBlob(f.container, point.id, mine, 'restore-3')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect((await readWhole(mine)).equals(point.content)).toBe(true);
    await f.container.delete();
  }, 60_000);

  test('unknown recovery point ids are NOT_FOUND and malformed ones INVALID_ARGUMENT, and nothing is made', async () => {
    const f = await newDisk('ids');
    const point = await backup(f, 'job-1');
    const target = f.container.getPageBlobClient('restores/never.vhd');
    const unknown = [
      recoveryPointId(f.vault.diskKey, new Date(Date.parse('2020-01-02T03:04:05.678Z'))),
      recoveryPointId('no-such-disk', new Date(Date.parse('2020-01-02T03:04:05.678Z'))),
    ];
    const malformed = ['', 'nonsense', `${point.id}x`, '../ids.20200102T030405678Z', 'IDS.20200102T030405678Z', 'ids.2020-01-02T03:04:05.678Z'];

    const operations = [
      (id: string) => readRecoveryPoint(f.container, id),
      (id: string) => verifyRecoveryPoint(f.container, id),
      (id: string) => restoreToPageBlob(f.container, id, target, 'restore-never'),
      (id: string) => deleteRecoveryPoint(f.container, id),
    ];
    for (const operation of operations) {
      for (const id of unknown) {
        await expect(operation(id)).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining(id) });
      }
      for (const id of malformed) {
        await expect(operation(id)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
    }
    expect(await target.exists()).toBe(false);
    expect((await listRecoveryPoints(f.vault)).map((p) => p.id)).toEqual([point.id]);
    await f.container.delete();
  }, 60_000);

  test('a manifest of an unknown version is refused, naming the version', async () => {
    const f = await newDisk('version');
    const point = await backup(f, 'job-1');
    const name = vaultPaths.manifest(f.vault.diskKey, point.id);
    const manifest = await readRecoveryPoint(f.container, point.id);
    const body = JSON.stringify({ ...manifest, version: 2 });
    await f.container.getBlockBlobClient(name).upload(body, body.length);

    const refused = { code: 'MANIFEST_INVALID', message: expect.stringMatching(/version 2\b/) };
    await expect(readRecoveryPoint(f.container, point.id)).rejects.toMatchObject(refused);
    await expect(readRecoveryPoint(f.container, point.id)).rejects.toMatchObject({ message: expect.stringContaining(name) });
    await expect(verifyRecoveryPoint(f.container, point.id)).rejects.toMatchObject(refused);
    const target = f.container.getPageBlobClient('restores/v2.vhd');
    await expect(restoreToPageBlob(f.container, point.id, target, 'restore-v2')).rejects.toMatchObject(refused);
    expect(await target.exists()).toBe(false);
    await f.container.delete();
  }, 60_000);

  test('the chain head is not deleted unless asked for explicitly; then the next backup is a full one', async () => {
    const f = await newDisk('head');
    const first = await backup(f, 'job-1');
    await writeSome(f.disk, 'v2');
    const head = await backup(f, 'job-2');
    expect((await readChain(f.container, f.vault.diskKey)).state.head?.recoveryPointId).toBe(head.id);

    await expect(deleteRecoveryPoint(f.container, head.id)).rejects.toMatchObject({
      code: 'CHAIN_BROKEN',
      message: expect.stringContaining(head.id),
    });
    expect((await listRecoveryPoints(f.vault)).map((p) => p.id)).toEqual([head.id, first.id]);
    await expectRestoreEquals(f, head.id, head.content, 'restores/head.vhd');

    // An older point is not the head: it goes without ceremony, and the head still restores.
    await deleteRecoveryPoint(f.container, first.id);
    expect((await listRecoveryPoints(f.vault)).map((p) => p.id)).toEqual([head.id]);
    await expectRestoreEquals(f, head.id, head.content, 'restores/head-again.vhd');

    const manifest = await readRecoveryPoint(f.container, head.id);
    await deleteRecoveryPoint(f.container, head.id, { allowChainHead: true });
    expect(await listRecoveryPoints(f.vault)).toEqual([]);
    expect(await f.vault.base.withSnapshot(manifest.vault.snapshot).exists()).toBe(false);
    expect(await f.container.getBlobClient(manifest.blocks.blob).exists()).toBe(false);

    await writeSome(f.disk, 'v3');
    const next = await backup(f, 'job-3');
    expect(await readRecoveryPoint(f.container, next.id)).toMatchObject({ mode: 'full', previousRecoveryPointId: null });
    await expectRestoreEquals(f, next.id, next.content, 'restores/next.vhd');
    await f.container.delete();
  }, 60_000);
});
