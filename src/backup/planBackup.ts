/**
 * Step 2 of the data path: decide what a backup copies. Reads the chain head, lists ranges,
 * computes the delta (deltaPlan.ts), cuts it into chunks that each fit one activity's time
 * budget, and stores the plan and the chunk range files in the vault. Returns only counts.
 * Idempotent: a retried plan activity returns the plan it already stored.
 */
import { onePage, type DiskSource, type RangeDiff, type SourceSnapshot } from '../disks/diskSource';
import { errors, isDeltavaultError, storageStatus } from '../errors';
import type { ByteRange } from '../ranges/byteRange';
import { sweepStreams, type LayerRange, type LayerStream } from '../ranges/layerSweep';
import { allocatedRangePages } from '../util/pageBlobRanges';
import { primed, type Primed } from '../util/primedIterator';
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
import { ChunkBuilder, type ChunkDraft } from './chunkBuilder';
import { DELTA_LAYER_COUNT, DELTA_LAYERS } from './deltaPlan';
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
  const signal = options.abortSignal;
  // Listings are swept page by page (never held whole); each is primed, so its first page is
  // asked for in the round trip where it is first known to be needed, and closed if unused.
  const listings: Primed<readonly LayerRange[]>[] = [];
  const list = <T>(pages: AsyncIterable<T>, toLayers: (page: T) => readonly LayerRange[]): Primed<readonly LayerRange[]> => {
    const p = primed(mapPages(pages, toLayers));
    listings.push(p);
    return p;
  };
  try {
    // Round trip 1: the stored plan (a retry), the base blob, and what the new snapshot holds.
    const newAllocated = list(source.allocatedRangePages(snapshot.id, signal), layer(DELTA_LAYERS.newAllocated));
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
      const baseAllocated = list(allocatedRangePages(vault.base, signal), layer(DELTA_LAYERS.baseAllocated));
      const [chain, baseProperties] = await Promise.all([
        readChain(container, diskKey),
        vault.base.getProperties().catch((e: unknown) => {
          throw errors.storage(`reading the vault base blob of ${diskKey}`, e);
        }),
      ]);
      const baseEtagBefore = baseProperties.etag;
      const head = chain.state.head;
      // Then everything about the head at once: is its source snapshot still there, is its
      // manifest, what did it hold, and the reported diff (its first page says whether the
      // service can diff at all). Reads that lose their point when the head is unusable are dropped.
      // This job claims the base meanwhile: from now on only it may write and snapshot it.
      const previousAllocated = head ? list(source.allocatedRangePages(head.sourceSnapshotId, signal), layer(DELTA_LAYERS.previousAllocated)) : undefined;
      const reported = head ? list(source.changedRangePages(head.sourceSnapshotId, snapshot.id, signal), diffLayers) : undefined;
      const [, , headSnapshot, headManifest, reportedFirst] = await Promise.all([
        baseProperties.contentLength !== snapshot.sizeBytes ? vault.base.resize(snapshot.sizeBytes, { conditions: { leaseId: lease.leaseId } }) : undefined,
        claimBase(vault.base, diskKey, jobId, lease.leaseId, baseProperties.metadata),
        head ? settle(source.getSnapshot(head.sourceSnapshotId)) : undefined,
        head ? settle(readJson(container, vaultPaths.manifest(diskKey, head.recoveryPointId), manifestSchema)) : undefined,
        reported?.first,
      ]);
      const headMissing = headSnapshot && !headSnapshot.ok && (headSnapshot.error as { code?: string }).code === 'NOT_FOUND';
      if (headSnapshot && !headSnapshot.ok && !headMissing) throw headSnapshot.error;
      // An incremental needs the head's source snapshot (diff base) and its manifest (hash base).
      const manifest = head && !headMissing && headManifest ? unwrap(headManifest) : undefined;
      // No diff exists between the head's snapshot and the new one (a managed disk resized across
      // 4 TiB): copy the whole allocation, as a full backup does. The base is rewritten to the new
      // snapshot; earlier recovery points are vault snapshots and stay as they were.
      const diffUnavailable = reportedFirst !== undefined && !reportedFirst.ok && isDeltavaultError(reportedFirst.error, 'DIFF_UNAVAILABLE');
      // A chain keeps one block size (the head's hashes are merged into the new list); a head whose
      // block size this deltavault cannot move in whole windows starts a new chain instead.
      const incremental = head !== null && manifest !== undefined && !diffUnavailable && isBlockSize(manifest.value.blocks.sizeBytes);
      const blockBytes = incremental && manifest ? manifest.value.blocks.sizeBytes : (options.blockBytes ?? BLOCK_BYTES);
      if (!isBlockSize(blockBytes)) throw errors.invalidArgument('block size', `${blockBytes} must be a multiple of 512 that divides ${WINDOW_BYTES}`);
      const fidelity = unwrap(await fidelityRead);
      const baseHoldsHead = head?.baseEtag !== undefined && head.baseEtag === baseEtagBefore;
      const previousHashes =
        incremental && manifest && fidelity === 'superset' && baseHoldsHead ? await headHashes(vault, manifest.value) : undefined;
      // After a resize the block that ends at the smaller size changes length, so its hash must be
      // computed again even when none of its bytes changed.
      const tailEnd = head ? Math.min(head.sizeBytes, snapshot.sizeBytes) : 0;
      const resizedTail: LayerRange[] =
        incremental && head && head.sizeBytes !== snapshot.sizeBytes ? [{ start: tailEnd - 512, end: tailEnd, layer: DELTA_LAYERS.resizedTail }] : [];
      const streams: LayerStream[] = [
        { what: `allocated ranges of ${source.description}@${snapshot.id}`, pages: newAllocated },
        { what: `allocated ranges of the vault base blob of ${diskKey}`, pages: baseAllocated },
        { what: 'the resized tail', pages: onePage(async () => resizedTail) },
      ];
      if (incremental && head && previousAllocated && reported) {
        streams.push(
          { what: `allocated ranges of ${source.description}@${head.sourceSnapshotId}`, pages: previousAllocated },
          { what: `the diff of ${source.description} since ${head.sourceSnapshotId}`, pages: reported },
        );
      }
      const builder = new ChunkBuilder({ sizeBytes: snapshot.sizeBytes, blockBytes, budgetBytes: options.chunkBudgetBytes ?? DEFAULT_CHUNK_BUDGET_BYTES, incremental });

      // Chunk documents are built in order while the listings are swept (the head's hashes stream
      // through once) and written several at a time; the sweep waits while all writers are busy.
      async function* chunkDocuments(): AsyncGenerator<ChunkRanges> {
        const toDocument = async (draft: ChunkDraft): Promise<ChunkRanges> => ({
          index: draft.index,
          blocks: toTuples(draft.blocks),
          changed: toTuples(draft.changed),
          cleared: toTuples(draft.cleared),
          allocated: toTuples(draft.allocated),
          baseAllocated: toTuples(draft.baseAllocated),
          ...(previousHashes ? { previousHashes: await previousHashes.take(draft.blocks) } : {}),
        });
        const sweep = sweepStreams(DELTA_LAYER_COUNT, streams, builder.interval);
        try {
          while (!(await sweep.next()).done) {
            for (const draft of builder.takeReady()) yield await toDocument(draft);
          }
        } finally {
          await sweep.return();
        }
        builder.finish();
        for (const draft of builder.takeReady()) yield await toDocument(draft);
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
        bytes: { ...builder.totals },
        chunks: builder.chunks,
      };
      // The plan is written last: its presence means every chunk file exists.
      await writeJson(container, vaultPaths.plan(diskKey, jobId), plan, 'overwrite');
      return summarizePlan(plan);
    } finally {
      await lease.stop(false);
    }
  } finally {
    await Promise.all(listings.map((l) => l.close()));
  }
}

/** A listing's pages as the sweep's input: every range of a page tagged with its layer. */
async function* mapPages<T>(pages: AsyncIterable<T>, toLayers: (page: T) => readonly LayerRange[]): AsyncGenerator<readonly LayerRange[], void, undefined> {
  for await (const page of pages) yield toLayers(page);
}

function layer(id: number): (page: readonly ByteRange[]) => LayerRange[] {
  return (page) => page.map((r) => ({ start: r.start, end: r.end, layer: id }));
}

/** A diff page's changed and cleared ranges (each sorted) as one list sorted by start. */
function diffLayers(page: RangeDiff): LayerRange[] {
  const out: LayerRange[] = [];
  let c = 0;
  let k = 0;
  const { changed, cleared } = page;
  while (c < changed.length || k < cleared.length) {
    const a = changed[c];
    const b = cleared[k];
    if (a && (!b || a.start <= b.start)) {
      out.push({ start: a.start, end: a.end, layer: DELTA_LAYERS.reportedChanged });
      c++;
    } else if (b) {
      out.push({ start: b.start, end: b.end, layer: DELTA_LAYERS.reportedCleared });
      k++;
    }
  }
  return out;
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

/** Block sizes the copy can move in whole windows: page multiples that divide WINDOW_BYTES. */
function isBlockSize(bytes: number): boolean {
  return Number.isSafeInteger(bytes) && bytes >= 512 && bytes % 512 === 0 && WINDOW_BYTES % bytes === 0;
}
