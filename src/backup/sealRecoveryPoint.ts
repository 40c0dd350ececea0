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
import { Manifest, MANIFEST_VERSION, RecoveryPointSummary, manifestSchema, summarize } from '../vault/manifest';
import type { VaultDisk } from '../vault/vaultDisk';
import { recoveryPointId, vaultPaths } from '../vault/vaultLayout';
import { errors } from '../errors';
import { ChunkResult, Plan, chunkRangesSchema, chunkResultSchema, fromTuples, totalResults } from './jobDocuments';
import { readPlan } from './planBackup';

/** Vault snapshot metadata key naming the recovery point it is. */
export const RECOVERY_POINT_METADATA_KEY = 'deltavaultrp';

export interface SealOptions {
  now?: Date;
}

export async function sealRecoveryPoint(vault: VaultDisk, jobId: string, options: SealOptions = {}): Promise<RecoveryPointSummary> {
  const { container, diskKey } = vault;
  const plan = await readPlan(vault, jobId);
  const rpId = recoveryPointId(diskKey, new Date(plan.source.createdAt));
  const manifestName = vaultPaths.manifest(diskKey, rpId);
  const existing = await readJson(container, manifestName, manifestSchema);
  if (existing) {
    // A retried seal cannot prove nobody wrote the base since: record no ETag (next job compares).
    await finishJob(vault, plan, existing.value, undefined, options.now ?? new Date());
    return summarize(existing.value);
  }

  const results: ChunkResult[] = [];
  for (const chunk of plan.chunks) {
    const done = await readJson(container, vaultPaths.chunkDone(diskKey, jobId, chunk.index), chunkResultSchema);
    if (!done) throw errors.chainBroken(diskKey, `job ${jobId} cannot be sealed: chunk ${chunk.index} of ${plan.chunks.length} has not been copied`);
    results.push(done.value);
  }

  const lease = await holdLease(vault.base, diskKey, jobId);
  let manifest: Manifest;
  let baseEtag: string | undefined;
  try {
    const vaultSnapshot = await snapshotBase(vault, rpId);
    baseEtag = (await vault.base.getProperties()).etag;
    const hashesName = vaultPaths.blockHashes(diskKey, rpId);
    const previous = plan.previous ? await readJson(container, vaultPaths.manifest(diskKey, plan.previous.recoveryPointId), manifestSchema) : undefined;
    if (plan.previous && !previous) {
      throw errors.chainBroken(diskKey, `previous recovery point ${plan.previous.recoveryPointId} disappeared while job ${jobId} ran; run the backup again (it will be a full one)`);
    }
    const oldHashes = previous
      ? readBlockHashes(container, previous.value.blocks.blob, { blockBytes: plan.blockBytes, sha256: previous.value.blocks.sha256 })
      : emptyHashes();
    const written = await writeBlockHashes(container, hashesName, plan.blockBytes, mergeHashes(vault, plan, oldHashes, results));
    const totals = totalResults(results);
    const now = options.now ?? new Date();
    manifest = {
      version: MANIFEST_VERSION,
      id: rpId,
      diskKey,
      jobId,
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
        changed: plan.bytes.changed,
        cleared: plan.bytes.cleared,
        transferred: totals.bytesWritten,
      },
      blocks: { sizeBytes: plan.blockBytes, count: written.count, blob: hashesName, sha256: written.sha256 },
    };
    // Refuse before the point becomes visible if another writer moved the chain meanwhile.
    const chain = await readChain(container, diskKey);
    if ((chain.etag ?? null) !== plan.chainEtag) throw errors.chainConflict(diskKey);
    await writeJson(container, manifestName, manifest, { ifNoneMatch: '*' }, { [RECOVERY_POINT_METADATA_KEY]: rpId });
  } finally {
    await lease.stop(true);
  }
  await finishJob(vault, plan, manifest, baseEtag, options.now ?? new Date());
  return summarize(manifest);
}

/** Advances the chain to the sealed point, then removes the job's working documents. */
async function finishJob(vault: VaultDisk, plan: Plan, manifest: Manifest, baseEtag: string | undefined, now: Date): Promise<void> {
  await advanceChain(
    vault.container,
    vault.diskKey,
    plan.chainEtag ?? undefined,
    {
      recoveryPointId: manifest.id,
      sourceSnapshotId: plan.source.snapshotId,
      sourceCreatedAt: plan.source.createdAt,
      sizeBytes: plan.source.sizeBytes,
      ...(baseEtag ? { baseEtag } : {}),
    },
    now,
  );
  const prefix = vaultPaths.jobPrefix(vault.diskKey, plan.jobId);
  for await (const item of vault.container.listBlobsFlat({ prefix })) {
    if (item.name !== vaultPaths.plan(vault.diskKey, plan.jobId)) await deleteBlobIfExists(vault.container, item.name);
  }
  // The plan goes last: while it exists, a retried activity can still find its job.
  await deleteBlobIfExists(vault.container, vaultPaths.plan(vault.diskKey, plan.jobId));
}

/** Snapshots the base blob once per recovery point (a retry finds the snapshot it made). */
async function snapshotBase(vault: VaultDisk, rpId: string): Promise<string> {
  for await (const item of vault.container.listBlobsFlat({ prefix: vault.base.name, includeSnapshots: true, includeMetadata: true })) {
    if (item.name === vault.base.name && item.snapshot && item.metadata?.[RECOVERY_POINT_METADATA_KEY] === rpId) return item.snapshot;
  }
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

