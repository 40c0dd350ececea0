/**
 * Step 4 of the data path: turn the copied base blob into a recovery point. Order matters
 * (docs/design.md, "write order"): vault snapshot → block-hash list → manifest → chain head.
 * A recovery point is listed only once its manifest exists, and the chain advances only after
 * that, with an ETag-conditional write. Idempotent: a retried seal finds the snapshot and
 * manifest it already made.
 */
import type { BlockHash, WrittenHashList } from '../vault/blockHashList';
import { readBlockHashes, writeBlockHashes } from '../vault/blockHashList';
import { holdLease } from '../vault/baseLease';
import { assertBaseWriter } from '../vault/baseWriter';
import { advanceChain, readChain } from '../vault/chainState';
import { deleteBlobIfExists, readJson, writeJson } from '../vault/jsonBlob';
import { Manifest, MANIFEST_VERSION, RecoveryPointSummary, hashListExpectation, manifestSchema, summarize } from '../vault/manifest';
import type { VaultDisk } from '../vault/vaultDisk';
import { RECOVERY_POINT_METADATA_KEY, recoveryPointId, vaultPaths } from '../vault/vaultLayout';
import { z } from 'zod';
import { errors } from '../errors';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { settle, unwrap } from '../util/settle';
import { forEachBounded, prefetchInOrder } from '../util/boundedPool';
import { CopyTotals, Plan, addTotals, chunkRangesSchema, chunkResultSchema, emptyTotals, fromTuples, planSchema } from './jobDocuments';

/** Job documents read or deleted at once. */
const READS_AHEAD = 8;

export interface SealOptions {
  now?: Date;
  /**
   * The recovery point's time (its id and `createdAt`), when it is not the source snapshot's:
   * a VM backup gives all of its disks' points the VM backup's time. The source snapshot's own
   * time stays in `source.createdAt`. Must be the same on every retry of the seal.
   */
  pointAt?: Date;
}

const sealedSchema = z.object({ jobId: z.string(), recoveryPointId: z.string() }).strict();

export async function sealRecoveryPoint(vault: VaultDisk, jobId: string, options: SealOptions = {}): Promise<RecoveryPointSummary> {
  const { container, diskKey } = vault;
  const [sealed, planFound] = await Promise.all([
    readJson(container, vaultPaths.sealed(diskKey, jobId), sealedSchema),
    readJson(container, vaultPaths.plan(diskKey, jobId), planSchema),
  ]);
  if (sealed) return summarize(await readRecoveryPoint(container, sealed.value.recoveryPointId));
  if (!planFound) throw errors.notFound('backup plan', `${diskKey}/${jobId}`);
  const plan = planFound.value;
  const pointAt = options.pointAt ?? new Date(plan.source.createdAt);
  const rpId = recoveryPointId(diskKey, pointAt);
  const manifestName = vaultPaths.manifest(diskKey, rpId);
  const now = options.now ?? new Date();
  const lease = await holdLease(vault.base, diskKey, jobId);
  let manifest: Manifest;
  let jobDocuments: Promise<string[]> | undefined;
  try {
    // One round trip under the lease: a manifest of an earlier attempt, the job's documents (is
    // every chunk copied?), the chain, the previous manifest, a vault snapshot of an earlier
    // attempt. Only the first matters when an earlier attempt already wrote the manifest.
    const [existing, documentsRead, chainRead, previousRead, snapshotsRead, baseRead] = await Promise.all([
      readJson(container, manifestName, manifestSchema),
      settle(listJobDocuments(vault, jobId)),
      settle(readChain(container, diskKey)),
      settle(plan.previous ? readJson(container, vaultPaths.manifest(diskKey, plan.previous.recoveryPointId), manifestSchema) : Promise.resolve(undefined)),
      settle(vault.snapshotsOf(rpId)),
      settle(vault.base.getProperties()),
    ]);
    // A retried seal cannot prove nobody wrote the base since its snapshot: it records no ETag
    // (the next job then compares instead of trusting the base).
    let baseEtag: string | undefined;
    if (existing) {
      manifest = existing.value;
    } else {
      const [documents, chain, previous, snapshots] = [unwrap(documentsRead), unwrap(chainRead), unwrap(previousRead), unwrap(snapshotsRead)];
      // The base must still be this job's: another job that planned since may have written it.
      if (!baseRead.ok) throw errors.storage(`reading the vault base blob of ${diskKey}`, baseRead.error);
      assertBaseWriter(baseRead.value, diskKey, jobId);
      jobDocuments = Promise.resolve(documents);
      // Every chunk must be copied before the base is snapshotted: a snapshot of a half-copied
      // base would be taken again by a retry and sealed as if it were whole.
      const copied = new Set(documents);
      const missing = plan.chunks.find((c) => !copied.has(vaultPaths.chunkDone(diskKey, jobId, c.index)));
      if (missing) {
        throw errors.chainBroken(diskKey, `job ${plan.jobId} cannot be sealed: chunk ${missing.index} of ${plan.chunks.length} has not been copied`);
      }
      // Refuse before the point becomes visible if another writer moved the chain meanwhile.
      if ((chain.etag ?? null) !== plan.chainEtag) throw errors.chainConflict(diskKey);
      if (plan.previous && !previous) {
        throw errors.chainBroken(
          diskKey,
          `previous recovery point ${plan.previous.recoveryPointId} disappeared while job ${plan.jobId} ran; run the backup again (it will be a full one)`,
        );
      }
      // The previous hash list starts downloading while the base is snapshotted.
      const oldHashes = previous
        ? readBlockHashes(container, previous.value.blocks.blob, { ...hashListExpectation(previous.value), blockBytes: plan.blockBytes })
        : emptyHashes();
      const firstOld = oldHashes.next();
      firstOld.catch(() => undefined);
      const vaultSnapshot = snapshots[0] ?? (await snapshotBase(vault, rpId));
      // The chunk results stream through the merge a few at a time (each holds its blocks'
      // hashes), so the seal's memory does not grow with the disk; their counters add up here.
      const totals = emptyTotals();
      const written = await writeBlockHashes(container, vaultPaths.blockHashes(diskKey, rpId), plan.blockBytes, mergeHashes(vault, plan, oldHashes, firstOld, totals));
      // Read under the lease above; a snapshot leaves the base's ETag as it was.
      baseEtag = baseRead.value.etag;
      manifest = await writeManifest(vault, plan, rpId, pointAt, vaultSnapshot, totals, written, now);
    }
    // The job's documents are known now (nothing writes them any more): list them meanwhile.
    jobDocuments ??= listJobDocuments(vault, jobId);
    jobDocuments.catch(() => undefined);
    // Still under the lease, so no other job can write the base between the seal and the chain.
    await advanceChain(
      container,
      diskKey,
      plan.chainEtag ?? undefined,
      {
        recoveryPointId: rpId,
        sourceSnapshotId: plan.source.snapshotId,
        sourceCreatedAt: plan.source.createdAt,
        sizeBytes: plan.source.sizeBytes,
        ...(baseEtag ? { baseEtag } : {}),
      },
      now,
    );
  } catch (e) {
    // The job keeps its lease: it is retried or abandoned, and no other job writes meanwhile.
    await lease.stop(false).catch(() => undefined);
    throw e;
  }
  await Promise.all([lease.stop(true), writeJson(container, vaultPaths.sealed(diskKey, jobId), { jobId, recoveryPointId: rpId }, 'overwrite')]);
  await removeJobDocuments(vault, jobId, await jobDocuments);
  return summarize(manifest);
}

/** Writes the manifest (the hash list is written): from here on the recovery point is listed. */
async function writeManifest(
  vault: VaultDisk,
  plan: Plan,
  rpId: string,
  pointAt: Date,
  vaultSnapshot: string,
  totals: CopyTotals,
  written: WrittenHashList,
  now: Date,
): Promise<Manifest> {
  const { container, diskKey } = vault;
  const hashesName = vaultPaths.blockHashes(diskKey, rpId);
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    id: rpId,
    diskKey,
    jobId: plan.jobId,
    mode: plan.mode,
    previousRecoveryPointId: plan.previous?.recoveryPointId ?? null,
    source: {
      kind: plan.source.kind,
      description: plan.source.description,
      snapshotId: plan.source.snapshotId,
      createdAt: plan.source.createdAt,
    },
    vault: { baseBlob: vaultPaths.base(diskKey), snapshot: vaultSnapshot },
    sizeBytes: plan.source.sizeBytes,
    createdAt: pointAt.toISOString(),
    sealedAt: now.toISOString(),
    bytes: {
      allocated: plan.bytes.allocated,
      // A superset diff (the emulator) names more than changed; the copy compared those pages
      // with the previous point, so what it wrote is what changed.
      changed: plan.fidelity === 'superset' ? totals.bytesWritten : plan.bytes.changed,
      cleared: plan.bytes.cleared,
      transferred: totals.bytesWritten,
    },
    blocks: { sizeBytes: plan.blockBytes, count: written.count, blob: hashesName, sha256: written.sha256 },
  };
  await writeJson(container, vaultPaths.manifest(diskKey, rpId), manifest, { ifNoneMatch: '*' }, { [RECOVERY_POINT_METADATA_KEY]: rpId });
  return manifest;
}

async function listJobDocuments(vault: VaultDisk, jobId: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of vault.container.listBlobsFlat({ prefix: vaultPaths.jobPrefix(vault.diskKey, jobId) })) names.push(item.name);
  return names;
}

/** Removes a sealed job's working documents, several at a time; the plan goes last and the sealed marker stays. */
async function removeJobDocuments(vault: VaultDisk, jobId: string, names: readonly string[] | undefined): Promise<void> {
  const keep = new Set([vaultPaths.plan(vault.diskKey, jobId), vaultPaths.sealed(vault.diskKey, jobId)]);
  await forEachBounded((names ?? (await listJobDocuments(vault, jobId))).filter((n) => !keep.has(n)), READS_AHEAD, (name) => deleteBlobIfExists(vault.container, name));
  await deleteBlobIfExists(vault.container, vaultPaths.plan(vault.diskKey, jobId));
}

/** Snapshots the base blob, tagged as recovery point `rpId` (the caller found no snapshot of an earlier attempt). */
async function snapshotBase(vault: VaultDisk, rpId: string): Promise<string> {
  try {
    const made = await vault.base.createSnapshot({ metadata: { [RECOVERY_POINT_METADATA_KEY]: rpId } });
    if (!made.snapshot) throw new Error('no snapshot id returned');
    return made.snapshot;
  } catch (e) {
    throw errors.storage(`snapshotting the vault base blob of ${vault.diskKey}`, e);
  }
}

async function* emptyHashes(): AsyncGenerator<BlockHash> {
  // a full backup has no earlier hashes
}

/**
 * The new recovery point's hash list: the previous list, with every block this job touched
 * replaced by the hash the copy computed (or dropped, when the block holds no data any more).
 * Streams all inputs: chunks are visited in order and hold ascending block ranges, and each
 * chunk's result (its hashes) and ranges are read a few chunks ahead; `totals` adds up the
 * results' counters on the way.
 */
async function* mergeHashes(
  vault: VaultDisk,
  plan: Plan,
  oldHashes: AsyncGenerator<BlockHash>,
  firstOld: Promise<IteratorResult<BlockHash>>,
  totals: CopyTotals,
): AsyncGenerator<BlockHash> {
  const blockCount = Math.ceil(plan.source.sizeBytes / plan.blockBytes);
  const indices = plan.chunks.map((c) => c.index);
  const read = (index: number) =>
    Promise.all([
      readJson(vault.container, vaultPaths.chunkDone(vault.diskKey, plan.jobId, index), chunkResultSchema),
      readJson(vault.container, vaultPaths.chunk(vault.diskKey, plan.jobId, index), chunkRangesSchema),
    ]);
  let old = await firstOld;
  let at = 0;
  for await (const [done, ranges] of prefetchInOrder(indices, read, READS_AHEAD)) {
    const index = indices[at++]!;
    if (!done) throw errors.chainBroken(vault.diskKey, `job ${plan.jobId} cannot be sealed: the result of chunk ${index} disappeared`);
    if (!ranges) throw errors.notFound('chunk', `${vault.diskKey}/${plan.jobId}/${index}`);
    const result = done.value;
    addTotals(totals, result);
    let fresh = 0;
    for (const touched of fromTuples(ranges.value.blocks)) {
      while (!old.done && old.value.index < touched.start) {
        yield old.value;
        old = await oldHashes.next();
      }
      while (!old.done && old.value.index < touched.end) old = await oldHashes.next();
      while (fresh < result.hashes.length && result.hashes[fresh]![0] < touched.end) {
        const [block, hex] = result.hashes[fresh]!;
        yield { index: block, hash: Buffer.from(hex, 'hex') };
        fresh++;
      }
    }
  }
  // Blocks past the end of a disk that shrank are gone.
  while (!old.done && old.value.index < blockCount) {
    yield old.value;
    old = await oldHashes.next();
  }
}
