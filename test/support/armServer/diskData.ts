/**
 * The bytes of managed disks and snapshots, as page blobs in the Azurite the tests run against.
 * Each disk gets its own container (`<prefix>-<uniqueId>`) holding one page blob, `disk.vhd`;
 * a snapshot of the disk is a blob snapshot of that blob, so Get Page Ranges on a snapshot shows
 * exactly the pages that were allocated when it was taken. A disk made by copying (Copy, Import)
 * gets a container of its own with a copy of the source's bytes.
 */
import { AnonymousCredential, BlobServiceClient, PageBlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { ArmError, armErrors } from './armErrors';
import type { DataLocation } from './resourceStore';

export const DISK_BLOB_NAME = 'disk.vhd';
const COPY_WINDOW_BYTES = 4 * 1024 * 1024;

export interface StorageAccount {
  readonly connectionString: string;
  readonly accountName: string;
  readonly accountKey: string;
  readonly blobEndpoint: string;
}

/** Reads the account name, key and blob endpoint out of a connection string with a key. */
export function parseStorageAccount(connectionString: string): StorageAccount {
  const part = (name: string): string | undefined =>
    connectionString
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.toLowerCase().startsWith(`${name.toLowerCase()}=`))
      ?.slice(name.length + 1);
  const accountName = part('AccountName');
  const accountKey = part('AccountKey');
  const blobEndpoint = part('BlobEndpoint');
  if (!accountName || !accountKey || !blobEndpoint) {
    throw new Error('the ARM test server needs a storage connection string with AccountName, AccountKey and BlobEndpoint');
  }
  return { connectionString, accountName, accountKey, blobEndpoint: blobEndpoint.replace(/\/+$/, '') };
}

export class DiskDataStore {
  readonly service: BlobServiceClient;
  readonly credential: StorageSharedKeyCredential;

  constructor(
    readonly account: StorageAccount,
    private readonly containerPrefix: string,
  ) {
    this.service = BlobServiceClient.fromConnectionString(account.connectionString);
    this.credential = new StorageSharedKeyCredential(account.accountName, account.accountKey);
  }

  /** A client with the account key for the blob (or blob snapshot) at `loc`. */
  blobClient(loc: DataLocation): PageBlobClient {
    const blob = this.service.getContainerClient(loc.container).getPageBlobClient(loc.blob);
    return loc.snapshot ? blob.withSnapshot(loc.snapshot) : blob;
  }

  private containerFor(uniqueId: string): string {
    return `${this.containerPrefix}-${uniqueId}`.toLowerCase().replace(/[^a-z0-9-]/g, '').slice(0, 63);
  }

  /** A new, all-zero page blob of `sizeBytes` in the disk's own container. */
  async createEmpty(uniqueId: string, sizeBytes: number): Promise<DataLocation> {
    const loc: DataLocation = { container: this.containerFor(uniqueId), blob: DISK_BLOB_NAME };
    await this.service.getContainerClient(loc.container).createIfNotExists();
    await this.blobClient(loc).create(sizeBytes);
    return loc;
  }

  /**
   * A new page blob in the disk's own container with the bytes of `source` (a page blob or blob
   * snapshot of this account, or any page blob URL readable as given, e.g. with a SAS). Only the
   * allocated ranges are copied, through the client: Azurite's own Copy Blob reads every byte of
   * a sparse page blob (seconds per GiB), and validates a SAS source by calling itself over HTTP.
   */
  async copyPageBlob(uniqueId: string, source: DataLocation | string): Promise<DataLocation> {
    const from = typeof source === 'string' ? this.clientForUrl(source) : this.blobClient(source);
    const props = await from.getProperties();
    if (props.blobType !== 'PageBlob') throw armErrors.invalidParameter('The source blob is not a page blob (a fixed VHD).', 'sourceUri');
    const size = props.contentLength ?? 0;
    const loc: DataLocation = { container: this.containerFor(uniqueId), blob: DISK_BLOB_NAME };
    await this.service.getContainerClient(loc.container).createIfNotExists();
    const to = this.blobClient(loc);
    await to.create(size);
    for await (const range of from.listPageRanges(0, size)) {
      for (let offset = range.start; offset <= range.end; offset += COPY_WINDOW_BYTES) {
        const count = Math.min(COPY_WINDOW_BYTES, range.end + 1 - offset);
        const bytes = await from.downloadToBuffer(offset, count);
        await to.uploadPages(bytes, offset, count);
      }
    }
    return loc;
  }

  /** A client for a page blob URL: with the account key for this account's blobs, else as given. */
  private clientForUrl(url: string): PageBlobClient {
    if (!url.toLowerCase().startsWith(`${this.account.blobEndpoint.toLowerCase()}/`)) return new PageBlobClient(url, new AnonymousCredential());
    const parsed = new URL(url);
    const [container, ...rest] = parsed.pathname.slice(new URL(this.account.blobEndpoint).pathname.length).split('/').filter(Boolean);
    const snapshot = parsed.searchParams.get('snapshot');
    return this.blobClient({ container: container ?? '', blob: rest.map(decodeURIComponent).join('/'), ...(snapshot ? { snapshot } : {}) });
  }

  /** A blob snapshot of the blob at `loc` (which must not itself be a snapshot). */
  async snapshot(loc: DataLocation): Promise<DataLocation> {
    const made = await this.blobClient({ container: loc.container, blob: loc.blob }).createSnapshot();
    if (!made.snapshot) throw armErrors.internalServerError('Azurite returned no snapshot id.');
    return { container: loc.container, blob: loc.blob, snapshot: made.snapshot };
  }

  async sizeOf(loc: DataLocation): Promise<number> {
    return (await this.blobClient(loc).getProperties()).contentLength ?? 0;
  }

  async resize(loc: DataLocation, sizeBytes: number): Promise<void> {
    await this.blobClient(loc).resize(sizeBytes);
  }

  async deleteSnapshot(loc: DataLocation): Promise<void> {
    if (loc.snapshot) await this.blobClient(loc).deleteIfExists();
  }

  async deleteContainer(container: string): Promise<void> {
    await this.service.getContainerClient(container).deleteIfExists();
  }
}

/** Status and code of a storage error, for handlers that turn it into an ARM answer. */
export function storageFailure(e: unknown, what: string): ArmError {
  if (e instanceof ArmError) return e;
  const status = (e as { statusCode?: number }).statusCode;
  if (status === 404) return armErrors.invalidParameter(`${what}: the source blob was not found.`);
  if (status === 403) return armErrors.invalidParameter(`${what}: access to the source blob was denied.`);
  return armErrors.operationFailed('InternalExecutionError', `${what} failed in storage (status ${status ?? 'unknown'}).`);
}
