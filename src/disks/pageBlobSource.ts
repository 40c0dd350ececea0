/**
 * A disk stored as a page-blob VHD (an unmanaged disk, or any page blob). Snapshots are blob
 * snapshots tagged with the job id in their metadata, so a retried snapshot activity finds the
 * snapshot it already made instead of making another.
 */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import type { DiffFidelity, DiskSource, RangeDiff, SnapshotReader, SourceSnapshot } from './diskSource';
import type { ByteRange } from '../ranges/byteRange';
import { errors, storageStatus } from '../errors';
import { allocatedRangePages, describeBlob, rangeDiffPages } from '../util/pageBlobRanges';
import { detectFidelity, readPageBlobInto } from '../util/pageBlobIo';
import { settle, unwrap } from '../util/settle';
import { blobCopySource } from '../util/copySources';
import { snapshotTime } from '../util/snapshotTime';

/** Blob metadata key that ties a source snapshot to the job that made it. */
export const JOB_METADATA_KEY = 'deltavaultjob';

export interface PageBlobSourceOptions {
  /** Override the automatic detection (the emulator's diff lists every valid range). */
  diffFidelity?: DiffFidelity;
}

export class PageBlobSource implements DiskSource {
  readonly kind = 'pageBlob' as const;
  readonly description: string;
  private fidelity?: DiffFidelity;

  constructor(
    private readonly container: ContainerClient,
    private readonly blob: PageBlobClient,
    options: PageBlobSourceOptions = {},
  ) {
    this.description = describeBlob(blob);
    this.fidelity = options.diffFidelity;
  }

  async diffFidelity(): Promise<DiffFidelity> {
    this.fidelity ??= await detectFidelity(this.blob);
    return this.fidelity;
  }

  async createSnapshot(jobId: string): Promise<SourceSnapshot> {
    // One round trip: a snapshot of an earlier attempt, and the disk's properties for a new one.
    const [existing, propsRead] = await Promise.all([this.findSnapshot(jobId), settle(this.blob.getProperties())]);
    if (existing) return existing;
    try {
      const props = unwrap(propsRead);
      if (props.blobType !== 'PageBlob') {
        throw errors.invalidArgument(this.description, `is a ${props.blobType ?? 'unknown'} blob, not a page blob (a VHD disk)`);
      }
      const made = await this.blob.createSnapshot({ metadata: { ...props.metadata, [JOB_METADATA_KEY]: jobId } });
      if (!made.snapshot) throw errors.sourceChanged(`${this.description}: the service returned no snapshot id`);
      return { id: made.snapshot, createdAt: snapshotTime(made.snapshot), sizeBytes: props.contentLength ?? 0, jobId };
    } catch (e) {
      if (storageStatus(e) === 404) throw errors.notFound('source disk blob', this.description);
      throw wrap(`snapshotting ${this.description}`, e);
    }
  }

  async findSnapshot(jobId: string): Promise<SourceSnapshot | undefined> {
    return (await this.listSnapshots()).find((s) => s.jobId === jobId);
  }

  async listSnapshots(): Promise<SourceSnapshot[]> {
    const found: SourceSnapshot[] = [];
    try {
      const items = this.container.listBlobsFlat({ prefix: this.blob.name, includeSnapshots: true, includeMetadata: true });
      for await (const item of items) {
        const jobId = item.metadata?.[JOB_METADATA_KEY];
        if (item.name !== this.blob.name || !item.snapshot || !jobId) continue;
        found.push({
          id: item.snapshot,
          createdAt: snapshotTime(item.snapshot),
          sizeBytes: item.properties.contentLength ?? 0,
          jobId,
        });
      }
    } catch (e) {
      throw wrap(`listing snapshots of ${this.description}`, e);
    }
    return found.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }

  async getSnapshot(snapshotId: string): Promise<SourceSnapshot> {
    try {
      const props = await this.blob.withSnapshot(snapshotId).getProperties();
      return {
        id: snapshotId,
        createdAt: snapshotTime(snapshotId),
        sizeBytes: props.contentLength ?? 0,
        jobId: props.metadata?.[JOB_METADATA_KEY],
      };
    } catch (e) {
      if (storageStatus(e) === 404) throw errors.notFound('source snapshot', `${this.description}@${snapshotId}`);
      throw wrap(`reading snapshot ${snapshotId} of ${this.description}`, e);
    }
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    try {
      await this.blob.withSnapshot(snapshotId).deleteIfExists();
    } catch (e) {
      throw wrap(`deleting snapshot ${snapshotId} of ${this.description}`, e);
    }
  }

  allocatedRangePages(snapshotId: string, abortSignal?: AbortSignal): AsyncIterable<ByteRange[]> {
    return allocatedRangePages(this.blob.withSnapshot(snapshotId), abortSignal);
  }

  changedRangePages(prevSnapshotId: string, snapshotId: string, abortSignal?: AbortSignal): AsyncIterable<RangeDiff> {
    return rangeDiffPages(this.blob.withSnapshot(snapshotId), prevSnapshotId, abortSignal);
  }

  async openReader(snapshotId: string): Promise<SnapshotReader> {
    const snapshot = this.blob.withSnapshot(snapshotId);
    return {
      readInto: (range, target, targetOffset, abortSignal) => readPageBlobInto(snapshot, range, target, targetOffset, abortSignal),
      copySource: blobCopySource(snapshot),
      close: async () => undefined,
    };
  }
}


function wrap(operation: string, e: unknown): Error {
  return e instanceof Error && e.name === 'DeltavaultError' ? e : errors.storage(operation, e);
}
