/**
 * Step 2 of the data path: decide what a backup copies. Reads the chain head, lists ranges,
 * computes the delta (deltaPlan.ts), cuts it into chunks that each fit one activity's time
 * budget, and stores the plan and the chunk range files in the vault. Returns only counts.
 * Idempotent: a retried plan activity returns the plan it already stored.
 */
import type { DiskSource, SourceSnapshot } from '../disks/diskSource';
import { errors, isDeltavaultError, storageStatus } from '../errors';
import { ByteRange, clip, intersect, totalBytes, union } from '../ranges/byteRange';
import { partitionBlocks, touchedBlocks } from '../ranges/writePlanning';
import { listAllocatedRanges } from '../util/pageBlobRanges';
import { holdLease } from '../vault/baseLease';
import { claimBase } from '../vault/baseWriter';
import { readChain } from '../vault/chainState';
import { readJson, writeJson } from '../vault/jsonBlob';
import { readBlockHashes } from '../vault/blockHashList';
import { Manifest, hashListExpectation, manifestSchema } from '../vault/manifest';
import { settle, unwrap } from '../util/settle';
import { forEachBounded } from '../util/boundedPool';
import type { VaultDisk } from '../vault/vaultDisk';
import { BLOCK_BYTES, WINDOW_BYTES, assertJobId, vaultPaths } from '../vault/vaultLayout';
import { computeDelta } from './deltaPlan';
import { ChunkRanges, Plan, PLAN_VERSION, PlanSummary, planSchema, summarizePlan, toTuples } from './jobDocuments';

/** Chunk documents written at once. */
const CHUNK_WRITES_AT_ONCE = 8;

/** Default work per copy activity: 8 GiB of blocks takes a few minutes at vault speeds. */
export const DEFAULT_CHUNK_BUDGET_BYTES = 8 * 1024 * 1024 * 1024;

export interface PlanBackupOptions {
  chunkBudgetBytes?: number;
  /**
   * Hash block size of a new chain (a full backup); default BLOCK_BYTES. An incremental keeps
   * the block size of the chain's head, since its hash list is merged into the new one.
   */
  blockBytes?: number;
  now?: Date;
  abortSignal?: AbortSignal;
}

export async function planBackup(
  source: DiskSource,
  vault: VaultDisk,
  jobId: string,
  snapshot: SourceSnapshot,
  options: PlanBackupOptions = {},
): Promise<PlanSummary> {
  assertJobId(jobId);
  const { container, diskKey } = vault;
  // Round trip 1: the stored plan (a retry), the base blob, and what the new snapshot holds.
  // The source listings run ahead of the plan check; a retry that finds its plan drops them.
  const newAllocatedRead = settle(source.allocatedRanges(snapshot.id, options.abortSignal));
  const fidelityRead = settle(source.diffFidelity());
  const [existing] = await Promise.all([
    readJson(container, vaultPaths.plan(diskKey, jobId), planSchema),
    snapshot.sizeBytes > 0 && snapshot.sizeBytes % 512 === 0 ? ensureBase(vault, snapshot.sizeBytes) : undefined,
  ]);
  if (existing) return summarizePlan(existing.value);
  if (snapshot.sizeBytes <= 0 || snapshot.sizeBytes % 512 !== 0) {
    throw errors.invalidArgument(source.description, `size ${snapshot.sizeBytes} is not a positive multiple of 512 bytes`);
  }

  const lease = await holdLease(vault.base, diskKey, jobId);
  try {
    // Under the lease, before this job changes the base: the chain, the base blob's ETag (an
    // ETag unchanged since the seal means the base holds exactly the head's bytes) and its
    // allocated ranges, in one round trip.
    const [chain, baseProperties, baseAllocated] = await Promise.all([
      readChain(container, diskKey),
      vault.base.getProperties().catch((e: unknown) => {
        throw errors.storage(`reading the vault base blob of ${diskKey}`, e);
      }),
      listAllocatedRanges(vault.base, options.abortSignal),
    ]);
    const baseEtagBefore = baseProperties.etag;
    const head = chain.state.head;
    // Then everything about the head at once: is its source snapshot still there, is its
    // manifest, what did it hold, and the reported diff. Reads that lose their point when the
    // head is unusable are dropped.
    // This job claims the base meanwhile: from now on only it may write and snapshot it.
    const [, , headSnapshot, headManifest, previousAllocated, reported] = await Promise.all([
      baseProperties.contentLength !== snapshot.sizeBytes ? vault.base.resize(snapshot.sizeBytes, { conditions: { leaseId: lease.leaseId } }) : undefined,
      claimBase(vault.base, diskKey, jobId, lease.leaseId, baseProperties.metadata),
      head ? settle(source.getSnapshot(head.sourceSnapshotId)) : undefined,
      head ? settle(readJson(container, vaultPaths.manifest(diskKey, head.recoveryPointId), manifestSchema)) : undefined,
      head ? settle(source.allocatedRanges(head.sourceSnapshotId, options.abortSignal)) : undefined,
      head ? settle(source.changedRanges(head.sourceSnapshotId, snapshot.id, options.abortSignal)) : undefined,
    ]);
    const headMissing = headSnapshot && !headSnapshot.ok && (headSnapshot.error as { code?: string }).code === 'NOT_FOUND';
    if (headSnapshot && !headSnapshot.ok && !headMissing) throw headSnapshot.error;
    // An incremental needs the head's source snapshot (diff base) and its manifest (hash base).
    const manifest = head && !headMissing && headManifest ? unwrap(headManifest) : undefined;
    // No diff exists between the head's snapshot and the new one (a managed disk resized across
    // 4 TiB): copy the whole allocation, as a full backup does. The base is rewritten to the new
    // snapshot; earlier recovery points are vault snapshots and stay as they were.
    const diffUnavailable = reported !== undefined && !reported.ok && isDeltavaultError(reported.error, 'DIFF_UNAVAILABLE');
    // A chain keeps one block size (the head's hashes are merged into the new list); a head whose
    // block size this deltavault cannot move in whole windows starts a new chain instead.
    const incremental = head !== null && manifest !== undefined && !diffUnavailable && isBlockSize(manifest.value.blocks.sizeBytes);
    const blockBytes = incremental && manifest ? manifest.value.blocks.sizeBytes : (options.blockBytes ?? BLOCK_BYTES);
    if (!isBlockSize(blockBytes)) throw errors.invalidArgument('block size', `${blockBytes} must be a multiple of 512 that divides ${WINDOW_BYTES}`);
    const [fidelity, newAllocated] = [unwrap(await fidelityRead), unwrap(await newAllocatedRead)];
    let previous;
    if (incremental && previousAllocated && reported) {
      const changes = unwrap(reported);
      previous = { allocated: unwrap(previousAllocated), reportedChanged: changes.changed, reportedCleared: changes.cleared };
    }
    const delta = computeDelta({ sizeBytes: snapshot.sizeBytes, newAllocated, baseAllocated, previous });
    const baseHoldsHead = head?.baseEtag !== undefined && head.baseEtag === baseEtagBefore;
    const previousHashes =
      incremental && manifest && fidelity === 'superset' && baseHoldsHead ? await headHashes(vault, manifest.value) : undefined;
    // After a resize the block that ends at the smaller size changes length, so its hash must be
    // computed again even when none of its bytes changed.
    const resizedTail =
      incremental && head && head.sizeBytes !== snapshot.sizeBytes
        ? [{ start: Math.min(head.sizeBytes, snapshot.sizeBytes) - 512, end: Math.min(head.sizeBytes, snapshot.sizeBytes) }]
        : [];
    const chunks = chunkTouchedBlocks(union(union(delta.changed, delta.cleared), resizedTail), options.chunkBudgetBytes ?? DEFAULT_CHUNK_BUDGET_BYTES, blockBytes);

    // Chunk documents are built in order (the head's hashes stream through once) and written
    // several at a time.
    async function* chunkDocuments(): AsyncGenerator<ChunkRanges> {
      for (const chunk of chunks) {
        const span = blocksToBytes(chunk.blocks, snapshot.sizeBytes, blockBytes);
        yield {
          index: chunk.index,
          blocks: toTuples(chunk.blocks),
          changed: toTuples(clipAll(delta.changed, span)),
          cleared: toTuples(clipAll(delta.cleared, span)),
          allocated: toTuples(clipAll(newAllocated, span)),
          baseAllocated: toTuples(clipAll(baseAllocated, span)),
          ...(previousHashes ? { previousHashes: await previousHashes.take(chunk.blocks) } : {}),
        };
      }
    }
    await forEachBounded(chunkDocuments(), CHUNK_WRITES_AT_ONCE, async (ranges) => {
      await writeJson(container, vaultPaths.chunk(diskKey, jobId, ranges.index), ranges, 'overwrite');
    });
    const plan: Plan = {
      version: PLAN_VERSION,
      jobId,
      diskKey,
      mode: incremental ? 'incremental' : 'full',
      fidelity,
      createdAt: (options.now ?? new Date()).toISOString(),
      source: {
        kind: source.kind,
        description: source.description,
        snapshotId: snapshot.id,
        createdAt: snapshot.createdAt.toISOString(),
        sizeBytes: snapshot.sizeBytes,
      },
      previous: incremental && head ? { recoveryPointId: head.recoveryPointId, sourceSnapshotId: head.sourceSnapshotId } : null,
      chainEtag: chain.etag ?? null,
      blockBytes,
      bytes: { allocated: totalBytes(newAllocated), changed: totalBytes(delta.changed), cleared: totalBytes(delta.cleared) },
      chunks: chunks.map((c) => ({ index: c.index, blocks: totalBytes(c.blocks), bytes: totalBytes(c.blocks) * blockBytes })),
    };
    // The plan is written last: its presence means every chunk file exists.
    await writeJson(container, vaultPaths.plan(diskKey, jobId), plan, 'overwrite');
    return summarizePlan(plan);
  } finally {
    await lease.stop(false);
  }
}

export async function readPlan(vault: VaultDisk, jobId: string): Promise<Plan> {
  const found = await readJson(vault.container, vaultPaths.plan(vault.diskKey, jobId), planSchema);
  if (!found) throw errors.notFound('backup plan', `${vault.diskKey}/${jobId}`);
  return found.value;
}

/**
 * The head recovery point's block hashes, handed out chunk by chunk: chunks ask in ascending
 * block order, so the hash list streams through once whatever its size.
 */
async function headHashes(vault: VaultDisk, manifest: Manifest): Promise<{ take(blocks: readonly ByteRange[]): Promise<[number, string][]> }> {
  const records = readBlockHashes(vault.container, manifest.blocks.blob, hashListExpectation(manifest));
  let current = await records.next();
  return {
    async take(blocks) {
      const out: [number, string][] = [];
      for (const range of blocks) {
        while (!current.done && current.value.index < range.start) current = await records.next();
        while (!current.done && current.value.index < range.end) {
          out.push([current.value.index, current.value.hash.toString('hex')]);
          current = await records.next();
        }
      }
      return out;
    },
  };
}

async function ensureBase(vault: VaultDisk, sizeBytes: number): Promise<void> {
  try {
    await vault.base.create(sizeBytes, { conditions: { ifNoneMatch: '*' } });
  } catch (e) {
    const status = storageStatus(e);
    if (status !== 409 && status !== 412) throw errors.storage(`creating the vault base blob of ${vault.diskKey}`, e);
  }
}

/**
 * Cuts the touched blocks into chunks along 4 MiB window boundaries (the copy moves whole
 * windows), each chunk holding at most `budgetBytes` of windows.
 */
function chunkTouchedBlocks(touched: readonly ByteRange[], budgetBytes: number, blockBytes: number): { index: number; blocks: ByteRange[] }[] {
  const blocks = touchedBlocks(touched, blockBytes);
  const perWindow = WINDOW_BYTES / blockBytes;
  return partitionBlocks(touchedBlocks(touched, WINDOW_BYTES), WINDOW_BYTES, budgetBytes).map((chunk) => ({
    index: chunk.index,
    blocks: intersect(blocks, chunk.blocks.map((w) => ({ start: w.start * perWindow, end: w.end * perWindow }))),
  }));
}

function blocksToBytes(blocks: readonly ByteRange[], sizeBytes: number, blockBytes: number): ByteRange[] {
  return blocks.map((b) => ({ start: b.start * blockBytes, end: Math.min(b.end * blockBytes, sizeBytes) }));
}

/** Block sizes the copy can move in whole windows: page multiples that divide WINDOW_BYTES. */
function isBlockSize(bytes: number): boolean {
  return Number.isSafeInteger(bytes) && bytes >= 512 && bytes % 512 === 0 && WINDOW_BYTES % bytes === 0;
}

function clipAll(ranges: readonly ByteRange[], span: readonly ByteRange[]): ByteRange[] {
  return span.flatMap((s) => clip(ranges, s.start, s.end));
}
