/**
 * Step 4 of the data path: turn the copied base blob into a recovery point. Order matters
 * (docs/design.md, "write order"): vault snapshot → block-hash list → manifest → chain head.
 * A recovery point is listed only once its manifest exists, and the chain advances only after
 * that, with an ETag-conditional write. Idempotent: a retried seal finds the snapshot and
 * manifest it already made.
 */
import type { BlockHash } from '../vault/blockHashList';
import { readBlockHashes, writeBlockHashes } from '../vault/blockHashList';
import { holdLease } from '../vault/baseLease';
import { advanceChain, readChain } from '../vault/chainState';
import { deleteBlobIfExists, readJson, writeJson } from '../vault/jsonBlob';
import { Manifest, MANIFEST_VERSION, RecoveryPointSummary, hashListExpectation, manifestSchema, summarize } from '../vault/manifest';
import type { VaultDisk } from '../vault/vaultDisk';
import { RECOVERY_POINT_METADATA_KEY, recoveryPointId, vaultPaths } from '../vault/vaultLayout';
import { z } from 'zod';
import { errors } from '../errors';
import { readRecoveryPoint } from '../catalog/recoveryPoints';
import { ChunkResult, Plan, chunkRangesSchema, chunkResultSchema, fromTuples, totalResults } from './jobDocuments';
import { readPlan } from './planBackup';

export interface SealOptions {
  now?: Date;
}

const sealedSchema = z.object({ jobId: z.string(), recoveryPointId: z.string() }).strict();

export async function sealRecoveryPoint(vault: VaultDisk, jobId: string, options: SealOptions = {}): Promise<RecoveryPointSummary> {
  const { container, diskKey } = vault;
  const sealed = await readJson(container, vaultPaths.sealed(diskKey, jobId), sealedSchema);
  if (sealed) return summarize(await readRecoveryPoint(container, sealed.value.recoveryPointId));

  const plan = await readPlan(vault, jobId);
  const rpId = recoveryPointId(diskKey, new Date(plan.source.createdAt));
  const manifestName = vaultPaths.manifest(diskKey, rpId);
  const now = options.now ?? new Date();
  const lease = await holdLease(vault.base, diskKey, jobId);
  let manifest: Manifest;
  try {
    const existing = await readJson(container, manifestName, manifestSchema);
    // A retried seal cannot prove nobody wrote the base since its snapshot: it records no ETag
    // (the next job then compares instead of trusting the base).
    let baseEtag: string | undefined;
    if (existing) {
      manifest = existing.value;
    } else {
      const results = await chunkResults(vault, plan);
      // Refuse before the point becomes visible if another writer moved the chain meanwhile.
      const chain = await readChain(container, diskKey);
      if ((chain.etag ?? null) !== plan.chainEtag) throw errors.chainConflict(diskKey);
      const vaultSnapshot = await snapshotBase(vault, rpId);
      baseEtag = (await vault.base.getProperties()).etag;
      manifest = await writeManifest(vault, plan, rpId, vaultSnapshot, results, now);
    }
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
  await lease.stop(true);
  await writeJson(container, vaultPaths.sealed(diskKey, jobId), { jobId, recoveryPointId: rpId }, 'overwrite');
  await removeJobDocuments(vault, jobId);
  return summarize(manifest);
}

async function chunkResults(vault: VaultDisk, plan: Plan): Promise<ChunkResult[]> {
  const results: ChunkResult[] = [];
  for (const chunk of plan.chunks) {
    const done = await readJson(vault.container, vaultPaths.chunkDone(vault.diskKey, plan.jobId, chunk.index), chunkResultSchema);
    if (!done) {
      throw errors.chainBroken(vault.diskKey, `job ${plan.jobId} cannot be sealed: chunk ${chunk.index} of ${plan.chunks.length} has not been copied`);
    }
    results.push(done.value);
  }
  return results;
}

/** Writes the block-hash list, then the manifest: from here on the recovery point is listed. */
async function writeManifest(
  vault: VaultDisk,
  plan: Plan,
  rpId: string,
  vaultSnapshot: string,
  results: readonly ChunkResult[],
  now: Date,
): Promise<Manifest> {
  const { container, diskKey } = vault;
  const hashesName = vaultPaths.blockHashes(diskKey, rpId);
  const previous = plan.previous ? await readJson(container, vaultPaths.manifest(diskKey, plan.previous.recoveryPointId), manifestSchema) : undefined;
  if (plan.previous && !previous) {
    throw errors.chainBroken(
      diskKey,
      `previous recovery point ${plan.previous.recoveryPointId} disappeared while job ${plan.jobId} ran; run the backup again (it will be a full one)`,
    );
  }
  const oldHashes = previous
    ? readBlockHashes(container, previous.value.blocks.blob, { ...hashListExpectation(previous.value), blockBytes: plan.blockBytes })
    : emptyHashes();
  const written = await writeBlockHashes(container, hashesName, plan.blockBytes, mergeHashes(vault, plan, oldHashes, results));
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
    createdAt: plan.source.createdAt,
    sealedAt: now.toISOString(),
    bytes: {
      allocated: plan.bytes.allocated,
      // A superset diff (the emulator) names more than changed; the copy compared those pages
      // with the previous point, so what it wrote is what changed.
      changed: plan.fidelity === 'superset' ? totalResults(results).bytesWritten : plan.bytes.changed,
      cleared: plan.bytes.cleared,
      transferred: totalResults(results).bytesWritten,
    },
    blocks: { sizeBytes: plan.blockBytes, count: written.count, blob: hashesName, sha256: written.sha256 },
  };
  await writeJson(container, vaultPaths.manifest(diskKey, rpId), manifest, { ifNoneMatch: '*' }, { [RECOVERY_POINT_METADATA_KEY]: rpId });
  return manifest;
}

/** Removes a sealed job's working documents; the plan goes last and the sealed marker stays. */
async function removeJobDocuments(vault: VaultDisk, jobId: string): Promise<void> {
  const keep = new Set([vaultPaths.plan(vault.diskKey, jobId), vaultPaths.sealed(vault.diskKey, jobId)]);
  for await (const item of vault.container.listBlobsFlat({ prefix: vaultPaths.jobPrefix(vault.diskKey, jobId) })) {
    if (!keep.has(item.name)) await deleteBlobIfExists(vault.container, item.name);
  }
  await deleteBlobIfExists(vault.container, vaultPaths.plan(vault.diskKey, jobId));
}

/** Snapshots the base blob once per recovery point (a retry finds the snapshot it made). */
async function snapshotBase(vault: VaultDisk, rpId: string): Promise<string> {
  const [existing] = await vault.snapshotsOf(rpId);
  if (existing) return existing;
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
 * Streams both inputs; chunks are visited in order and hold ascending block ranges.
 */
async function* mergeHashes(
  vault: VaultDisk,
  plan: Plan,
  oldHashes: AsyncGenerator<BlockHash>,
  results: readonly ChunkResult[],
): AsyncGenerator<BlockHash> {
  const blockCount = Math.ceil(plan.source.sizeBytes / plan.blockBytes);
  let old = await oldHashes.next();
  for (const result of results) {
    const ranges = await readJson(vault.container, vaultPaths.chunk(vault.diskKey, plan.jobId, result.index), chunkRangesSchema);
    if (!ranges) throw errors.notFound('chunk', `${vault.diskKey}/${plan.jobId}/${result.index}`);
    let fresh = 0;
    for (const touched of fromTuples(ranges.value.blocks)) {
      while (!old.done && old.value.index < touched.start) {
        yield old.value;
        old = await oldHashes.next();
      }
      while (!old.done && old.value.index < touched.end) old = await oldHashes.next();
      while (fresh < result.hashes.length && result.hashes[fresh]![0] < touched.end) {
        const [index, hex] = result.hashes[fresh]!;
        yield { index, hash: Buffer.from(hex, 'hex') };
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

