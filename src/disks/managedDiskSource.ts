/**
 * A managed disk as a DiskSource, through Azure Resource Manager (`@azure/arm-compute`).
 *
 * - Snapshots are *incremental* snapshots of the disk (`createOption: Copy`), named
 *   deterministically from the disk and the job id (managedDiskNaming.ts) and tagged
 *   `deltavault-job` / `deltavault-disk`, so a retried snapshot activity finds the one it made.
 * - Data is read through a snapshot's access URL (a SAS from beginGetAccess), held for the
 *   shortest useful time and always revoked (managedDiskGrants.ts). No access URL leaves this
 *   module: not in return values, errors or logs.
 * - Ranges are listed, and diffed with `Get Page Ranges Diff` + `x-ms-previous-snapshot-url`, in
 *   offset windows (managedDiskRanges.ts).
 *
 * Sizes: a managed disk's access URL is a fixed VHD, the disk's `diskSizeBytes` plus the
 * 512-byte VHD footer, and `SourceSnapshot.sizeBytes` is that page blob's length (so the vault
 * base blob is a valid fixed VHD, and a restore to an `Upload` disk uses `sizeBytes` as its
 * `uploadSizeBytes` as is).
 *
 * Concurrency: one reader holds one lease on its snapshot's grant; `endGetAccess` revokes every
 * URL of a snapshot, so leases are shared and counted within a process, and the workflow must
 * not run activities that read one managed disk from two processes at once.
 */
import type { ComputeManagementClient, Snapshot } from '@azure/arm-compute';
import type { StoragePipelineOptions } from '@azure/storage-blob';
import { armFailure, armFailureFacts, isTransientArmFailure } from '../azure/armFailures';
import { computeClient, type ArmAccess } from '../azure/armAccess';
import { formatComputeResourceId, parseComputeResourceId, parseDiskId, sameResourceId, type ComputeResourceId } from '../azure/armResourceId';
import { errors, isDeltavaultError, type DeltavaultError } from '../errors';
import type { ByteRange } from '../ranges/byteRange';
import { assertJobId } from '../vault/vaultLayout';
import { type DiffFidelity, type DiskSource, type RangeDiff, type SnapshotReader, type SourceSnapshot } from './diskSource';
import { DiskGrants, MAX_GRANT_SECONDS, boundGrantSeconds, grantsForDisk } from './managedDiskGrants';
import { DISK_TAG, JOB_TAG, diskTagValue, snapshotNameFor, snapshotTags } from './managedDiskNaming';
import { DEFAULT_RANGE_WINDOW_BYTES, accessUrlClient, allocatedWindow, diffWindow, queryWindowedPages } from './managedDiskRanges';

/** The 512-byte footer that makes a managed disk's access URL a fixed VHD. */
export const VHD_FOOTER_BYTES = 512;
/** Snapshots taken before and after a resize across 4 TiB cannot be diffed (Azure's rule). */
export const DIFF_SIZE_BOUNDARY_BYTES = 4 * 1024 ** 4;
/** At most this many snapshots of one disk have access at once (Azure allows 5; a diff needs 2). */
export const MAX_GRANTED_SNAPSHOTS = 2;

const GiB = 1024 ** 3;

export interface ManagedDiskSourceOptions {
  readonly access: ArmAccess;
  /** `/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Compute/disks/<name>`. */
  readonly diskId: string;
  /** Where the snapshots are made and listed (default: the disk's resource group). */
  readonly snapshotResourceGroup?: string;
  /** Override the detection (Azurite behind the access URL: `superset`, else `exact`). */
  readonly diffFidelity?: DiffFidelity;
  /** Offset window of one range query (default 16 GiB); tests shrink it to prove the windowing. */
  readonly rangeWindowBytes?: number;
  /** Delay between polls of a long-running ARM operation (default: the client's, 2 s). */
  readonly pollIntervalMs?: number;
  /** How long a reader's grant lasts (default and maximum 2 h, the activity timeout). */
  readonly readerGrantSeconds?: number;
  /** Attempts to make a snapshot when its operation fails in a way worth retrying (default 3). */
  readonly snapshotAttempts?: number;
  /** Delay before the n-th retry of a snapshot, grant or revoke is n × this (default 1000 ms). */
  readonly retryDelayMs?: number;
  /** How long to wait for a snapshot another attempt is still making (default 10 min). */
  readonly snapshotWaitMs?: number;
  /** Size at which a resize makes the diff unavailable (default 4 TiB; only tests change it). */
  readonly diffSizeBoundaryBytes?: number;
  /** Pipeline options of the storage clients on access URLs (retries, TLS). */
  readonly storageOptions?: StoragePipelineOptions;
}

interface SnapshotInfo extends SourceSnapshot {
  readonly name: string;
  readonly resourceGroup: string;
  /** The disk's size when the snapshot was taken (without the VHD footer). */
  readonly diskSizeBytes: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class ManagedDiskSource implements DiskSource {
  readonly kind = 'managedDisk' as const;
  readonly description: string;
  private readonly disk: ComputeResourceId;
  private readonly client: ComputeManagementClient;
  private readonly snapshotGroup: string;
  private readonly grants: DiskGrants;
  private fidelity?: DiffFidelity;
  /** Calls that will see an access URL's answer soon: diffFidelity() waits for them. */
  private sasCallsInFlight = 0;
  private fidelityWaiters: Array<() => void> = [];

  constructor(private readonly options: ManagedDiskSourceOptions) {
    this.disk = parseDiskId(options.diskId);
    this.description = `managed disk ${options.diskId}`;
    this.client = computeClient(options.access, this.disk.subscriptionId);
    this.snapshotGroup = options.snapshotResourceGroup ?? this.disk.resourceGroup;
    this.fidelity = options.diffFidelity;
    const client = this.client;
    const poll = this.pollOptions();
    this.grants = grantsForDisk(
      options.access.endpoint,
      options.diskId,
      () =>
        new DiskGrants(
          {
            grantRead: async (snapshotId, durationInSeconds) => {
              const s = parseComputeResourceId(snapshotId, 'snapshots');
              const granted = await client.snapshots.grantAccess(s.resourceGroup, s.name, { access: 'Read', durationInSeconds }, poll);
              if (!granted.accessSAS) throw new Error('the grant answered no access URL');
              return granted.accessSAS;
            },
            revoke: async (snapshotId) => {
              const s = parseComputeResourceId(snapshotId, 'snapshots');
              await client.snapshots.revokeAccess(s.resourceGroup, s.name, poll);
            },
          },
          MAX_GRANTED_SNAPSHOTS,
          { retryDelayMs: options.retryDelayMs },
        ),
    );
  }

  async diffFidelity(): Promise<DiffFidelity> {
    if (this.fidelity) return this.fidelity;
    if (this.sasCallsInFlight > 0) {
      await new Promise<void>((resolve) => this.fidelityWaiters.push(resolve));
      if (this.fidelity) return this.fidelity;
    }
    const newest = (await this.listSnapshots()).at(-1);
    if (!newest) return 'superset'; // unknowable without a snapshot; superset is always safe
    await this.withSnapshotAccess([newest.id], 60, 'probing the storage service', async () => undefined);
    return this.fidelity ?? 'superset';
  }

  async createSnapshot(jobId: string): Promise<SourceSnapshot> {
    assertJobId(jobId);
    const name = snapshotNameFor(this.options.diskId, this.disk.name, jobId);
    const id = this.snapshotId(name);
    const attempts = this.options.snapshotAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = await this.readSnapshot(name);
        if (existing) {
          this.assertOurs(existing, id, jobId);
          if (existing.provisioningState === 'Succeeded') return this.toInfo(existing);
          if (existing.provisioningState === 'Failed') {
            // A failed incremental snapshot is deleted before it is made again.
            await this.client.snapshots.delete(this.snapshotGroup, name, this.pollOptions());
          } else {
            const settled = await this.waitWhileBusy(name);
            if (settled?.provisioningState === 'Succeeded') return this.toInfo(settled);
            continue;
          }
        }
        const disk = await this.client.disks.get(this.disk.resourceGroup, this.disk.name).catch((e: unknown) => {
          if (armFailureFacts(e).status === 404) throw errors.notFound('managed disk', this.options.diskId);
          throw e;
        });
        const made = await this.client.snapshots.createOrUpdate(
          this.snapshotGroup,
          name,
          {
            location: disk.location,
            incremental: true,
            tags: snapshotTags(this.options.diskId, jobId),
            creationData: { createOption: 'Copy', sourceResourceId: this.options.diskId },
          },
          this.pollOptions(),
        );
        if (made.provisioningState && made.provisioningState !== 'Succeeded') throw new Error(`The long-running operation has failed. ${made.provisioningState}.`);
        return this.toInfo(made);
      } catch (e) {
        if (isDeltavaultError(e)) throw e;
        if (attempt >= attempts || !isTransientArmFailure(e)) throw armFailure('creating incremental snapshot', id, e);
        await sleep(attempt * (this.options.retryDelayMs ?? 1000));
      }
    }
  }

  async findSnapshot(jobId: string): Promise<SourceSnapshot | undefined> {
    assertJobId(jobId);
    const name = snapshotNameFor(this.options.diskId, this.disk.name, jobId);
    const found = await this.readSnapshot(name).catch((e: unknown) => {
      throw armFailure('reading snapshot', this.snapshotId(name), e);
    });
    if (!found || found.provisioningState !== 'Succeeded' || !this.isOurs(found)) return undefined;
    return this.toInfo(found);
  }

  async listSnapshots(): Promise<SourceSnapshot[]> {
    const found: SnapshotInfo[] = [];
    try {
      for await (const s of this.client.snapshots.listByResourceGroup(this.snapshotGroup)) {
        if (s.provisioningState === 'Succeeded' && this.isOurs(s) && s.tags?.[JOB_TAG]) found.push(this.toInfo(s));
      }
    } catch (e) {
      throw armFailure('listing snapshots', `/subscriptions/${this.disk.subscriptionId}/resourceGroups/${this.snapshotGroup}`, e);
    }
    return found.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.name.localeCompare(b.name));
  }

  async getSnapshot(snapshotId: string): Promise<SourceSnapshot> {
    return this.snapshotInfo(snapshotId);
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    const s = parseComputeResourceId(snapshotId, 'snapshots');
    for (let attempt = 1; ; attempt++) {
      try {
        const existing = await this.readSnapshot(s.name, s.resourceGroup);
        if (!existing) return;
        if (!this.isOurs(existing)) throw errors.invalidArgument(snapshotId, `is not a snapshot deltavault made of ${this.options.diskId}; not deleting it`);
        await this.client.snapshots.delete(s.resourceGroup, s.name, this.pollOptions());
        return;
      } catch (e) {
        if (isDeltavaultError(e)) throw e;
        const facts = armFailureFacts(e);
        if (facts.status === 404) return;
        // A grant left behind by a process that died blocks the delete: end it, then delete.
        if (facts.status === 409 && /access/i.test(facts.message) && attempt < 3) {
          await this.client.snapshots.revokeAccess(s.resourceGroup, s.name, this.pollOptions()).catch(() => undefined);
          continue;
        }
        if (attempt >= 3 || !isTransientArmFailure(e)) throw armFailure('deleting snapshot', snapshotId, e);
        await sleep(attempt * (this.options.retryDelayMs ?? 1000));
      }
    }
  }

  /** Window by window, in offset order, under a read grant held until the last page is read (or the reader stops). */
  allocatedRangePages(snapshotId: string, abortSignal?: AbortSignal): AsyncGenerator<ByteRange[], void, undefined> {
    return this.seeingAccessUrls(() => this.listAllocatedPages(snapshotId, abortSignal));
  }

  /** The diff window by window, in offset order, under read grants on both snapshots. */
  changedRangePages(prevSnapshotId: string, snapshotId: string, abortSignal?: AbortSignal): AsyncGenerator<RangeDiff, void, undefined> {
    return this.seeingAccessUrls(() => this.diffPages(prevSnapshotId, snapshotId, abortSignal));
  }

  private async *listAllocatedPages(snapshotId: string, abortSignal?: AbortSignal): AsyncGenerator<ByteRange[], void, undefined> {
    const info = await this.snapshotInfo(snapshotId);
    const { storageOptions, rangeWindowBytes } = this.options;
    const probe = (client: ReturnType<typeof accessUrlClient>): Promise<number> => this.probe(client);
    yield* this.grantedPages([snapshotId], this.listingSeconds(info.sizeBytes), 'listing page ranges', async function* ([url]) {
      const client = accessUrlClient(url as string, storageOptions);
      const size = await probe(client);
      for await (const page of queryWindowedPages(size, allocatedWindow(client), { windowBytes: rangeWindowBytes, abortSignal })) yield page.ranges;
    });
  }

  private async *diffPages(prevSnapshotId: string, snapshotId: string, abortSignal?: AbortSignal): AsyncGenerator<RangeDiff, void, undefined> {
    const cur = await this.assertDiffable(prevSnapshotId, snapshotId);
    const { storageOptions, rangeWindowBytes } = this.options;
    const probe = (client: ReturnType<typeof accessUrlClient>): Promise<number> => this.probe(client);
    const unavailable = (code: string): DeltavaultError =>
      errors.diffUnavailable(`${this.description}: ${prevSnapshotId} → ${snapshotId}`, `the storage service answered ${code}`);
    yield* this.grantedPages([prevSnapshotId, snapshotId], this.listingSeconds(cur.sizeBytes), 'diffing page ranges', async function* ([prevUrl, curUrl]) {
      const client = accessUrlClient(curUrl as string, storageOptions);
      const size = await probe(client);
      try {
        for await (const page of queryWindowedPages(size, diffWindow(client, prevUrl as string), { windowBytes: rangeWindowBytes, abortSignal })) {
          yield { changed: page.ranges, cleared: page.cleared };
        }
      } catch (e) {
        const facts = armFailureFacts(e);
        if (facts.status === 409 && facts.code?.startsWith('PreviousSnapshot')) throw unavailable(facts.code);
        throw e;
      }
    });
  }

  /**
   * Pages read while the snapshots' grants are held: acquired before the first page, released
   * when the pages end, fail, or the reader stops early. Counts as a SAS call in flight.
   */
  private async *grantedPages<T>(snapshotIds: string[], seconds: number, operation: string, pages: (urls: string[]) => AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
    const resource = snapshotIds.join(' → ');
    const leases = await this.grants.acquire(snapshotIds, seconds).catch((e: unknown) => {
      throw armFailure(operation, resource, e);
    });
    let failed = false;
    try {
      yield* pages(leases.map((l) => l.accessUrl));
    } catch (e) {
      failed = true;
      throw armFailure(operation, resource, e);
    } finally {
      await this.grants.release(leases).catch((revokeError: unknown) => {
        if (!failed) throw revokeError;
      });
    }
  }

  /**
   * Runs a listing counted, from its first synchronous step (the first `next()`), as one that
   * will read an access URL's answer, so a diffFidelity() made meanwhile waits for it instead
   * of granting access itself.
   */
  private async *seeingAccessUrls<T>(pages: () => AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
    this.sasCallsInFlight += 1;
    try {
      yield* pages();
    } finally {
      this.sasCallsInFlight -= 1;
      if (this.sasCallsInFlight === 0) this.wakeFidelityWaiters();
    }
  }

  /** The current snapshot's facts, once it is clear the service can diff the two at all. */
  private async assertDiffable(prevSnapshotId: string, snapshotId: string): Promise<{ sizeBytes: number }> {
    const [prev, cur] = await Promise.all([this.snapshotInfo(prevSnapshotId), this.snapshotInfo(snapshotId)]);
    const boundary = this.options.diffSizeBoundaryBytes ?? DIFF_SIZE_BOUNDARY_BYTES;
    if (prev.diskSizeBytes <= boundary !== cur.diskSizeBytes <= boundary) {
      throw errors.diffUnavailable(
        `${this.description}: ${prevSnapshotId} → ${snapshotId}`,
        `the disk was resized across ${boundary / 1024 ** 4} TiB between the snapshots (${prev.diskSizeBytes} → ${cur.diskSizeBytes} bytes)`,
      );
    }
    return cur;
  }

  async openReader(snapshotId: string): Promise<SnapshotReader> {
    parseComputeResourceId(snapshotId, 'snapshots');
    const seconds = boundGrantSeconds(this.options.readerGrantSeconds ?? MAX_GRANT_SECONDS);
    const [lease] = await this.grants.acquire([snapshotId], seconds).catch((e: unknown) => {
      throw armFailure('granting read access', snapshotId, e);
    });
    if (!lease) throw errors.sourceChanged(`no access to ${snapshotId}`);
    const client = accessUrlClient(lease.accessUrl, this.options.storageOptions);
    let closed: Promise<void> | undefined;
    return {
      readInto: async (range, target, targetOffset, abortSignal) => {
        if (closed) throw errors.invalidArgument('snapshot reader', 'is closed');
        const count = range.end - range.start;
        const window = target.subarray(targetOffset, targetOffset + count);
        if (window.length !== count) throw errors.invalidRange(`read of ${count} bytes does not fit the buffer at offset ${targetOffset}`);
        try {
          await client.downloadToBuffer(window, range.start, count, { abortSignal, blockSize: count, concurrency: 1, maxRetryRequestsPerBlock: 3 });
        } catch (e) {
          throw armFailure(`reading bytes ${range.start}-${range.end - 1}`, snapshotId, e);
        }
      },
      // The grant's access URL carries its own read SAS, valid as long as the grant.
      copySource: async () => (closed ? undefined : { url: lease.accessUrl }),
      close: () => (closed ??= this.grants.release([lease])),
    };
  }

  // ---- helpers ----

  private pollOptions(): { updateIntervalInMs?: number } {
    return this.options.pollIntervalMs === undefined ? {} : { updateIntervalInMs: this.options.pollIntervalMs };
  }

  private snapshotId(name: string, resourceGroup = this.snapshotGroup): string {
    return formatComputeResourceId({ subscriptionId: this.disk.subscriptionId, resourceGroup, type: 'snapshots', name });
  }

  /** Seconds a listing of a blob of `sizeBytes` may take: a minute plus 5 s per window. */
  private listingSeconds(sizeBytes: number): number {
    const windows = Math.ceil(sizeBytes / (this.options.rangeWindowBytes ?? DEFAULT_RANGE_WINDOW_BYTES));
    return boundGrantSeconds(60 + 5 * windows);
  }

  /** The snapshot's ARM resource, or undefined when it does not exist. */
  private async readSnapshot(name: string, resourceGroup = this.snapshotGroup): Promise<Snapshot | undefined> {
    try {
      return await this.client.snapshots.get(resourceGroup, name);
    } catch (e) {
      if (armFailureFacts(e).status === 404) return undefined;
      throw e;
    }
  }

  private async snapshotInfo(snapshotId: string): Promise<SnapshotInfo> {
    const s = parseComputeResourceId(snapshotId, 'snapshots');
    let found: Snapshot | undefined;
    try {
      found = await this.readSnapshot(s.name, s.resourceGroup);
    } catch (e) {
      throw armFailure('reading snapshot', snapshotId, e);
    }
    if (!found || found.provisioningState === 'Failed') throw errors.notFound('source snapshot', snapshotId);
    if (!this.isOurs(found)) throw errors.invalidArgument(snapshotId, `is not a snapshot deltavault made of ${this.options.diskId}`);
    return this.toInfo(found);
  }

  private async waitWhileBusy(name: string): Promise<Snapshot | undefined> {
    const until = Date.now() + (this.options.snapshotWaitMs ?? 10 * 60_000);
    for (;;) {
      const s = await this.readSnapshot(name);
      if (!s || s.provisioningState === 'Succeeded' || s.provisioningState === 'Failed') return s;
      if (Date.now() > until) throw new Error(`The long-running operation has failed. SnapshotStillProvisioning. provisioningState ${s.provisioningState ?? 'unknown'}`);
      await sleep(this.options.pollIntervalMs ?? 2000);
    }
  }

  private isOurs(s: Snapshot): boolean {
    return s.tags?.[DISK_TAG] === diskTagValue(this.options.diskId) && sameResourceId(s.creationData?.sourceResourceId, this.options.diskId);
  }

  private assertOurs(s: Snapshot, id: string, jobId: string): void {
    if (!this.isOurs(s) || s.tags?.[JOB_TAG] !== jobId) {
      throw errors.alreadyExists('snapshot', `${id} (it is not the snapshot of job '${jobId}' of ${this.options.diskId})`);
    }
  }

  private toInfo(s: Snapshot): SnapshotInfo {
    const diskSizeBytes = s.diskSizeBytes ?? (s.diskSizeGB ?? 0) * GiB;
    const id = s.id ?? this.snapshotId(s.name ?? '');
    const parsed = parseComputeResourceId(id, 'snapshots');
    return {
      id,
      name: parsed.name,
      resourceGroup: parsed.resourceGroup,
      createdAt: s.timeCreated ? new Date(s.timeCreated) : new Date(0),
      sizeBytes: diskSizeBytes + VHD_FOOTER_BYTES,
      diskSizeBytes,
      jobId: s.tags?.[JOB_TAG],
    };
  }

  /** Reads the access URL's properties: the blob's length, and which service answers (fidelity). */
  private async probe(client: ReturnType<typeof accessUrlClient>): Promise<number> {
    const props = await client.getProperties();
    const server = props._response.headers.get('server') ?? '';
    this.fidelity ??= /azurite/i.test(server) ? 'superset' : 'exact';
    this.wakeFidelityWaiters();
    return props.contentLength ?? 0;
  }

  private wakeFidelityWaiters(): void {
    const waiters = this.fidelityWaiters;
    this.fidelityWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Runs `work` with access URLs of the snapshots; any failure becomes a scrubbed DeltavaultError naming the operation. */
  private async withSnapshotAccess<T>(snapshotIds: string[], seconds: number, operation: string, work: (urls: string[]) => Promise<T>): Promise<T> {
    try {
      return await this.grants.withAccess(snapshotIds, seconds, async (urls) => {
        try {
          return await work(urls);
        } catch (e) {
          throw armFailure(operation, snapshotIds.join(' → '), e);
        }
      });
    } catch (e) {
      throw isDeltavaultError(e) ? e : armFailure(operation, snapshotIds.join(' → '), e);
    }
  }
}
