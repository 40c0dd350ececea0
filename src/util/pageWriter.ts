/**
 * Writes pages the caller has already read (and hashed) into a page blob, the fastest way the
 * service allows: on Azure, Put Page From URL, so the service fetches the bytes from the source
 * snapshot itself and the Function uploads nothing; where that is not available (Azurite answers
 * 501, a source the service cannot reach, an expired source token), Put Page with the caller's
 * bytes. Both write the same bytes: the source is an immutable snapshot, read at the same offsets.
 */
import type { PageBlobClient } from '@azure/storage-blob';
import type { CopySource } from '../disks/diskSource';
import type { ByteRange } from '../ranges/byteRange';
import { storageCode, storageStatus } from '../errors';

/** Targets (by account URL) whose service answered 501 to Put Page From URL: not asked again in this process. */
const unsupportedAccounts = new Set<string>();

export interface PageWriterOptions {
  /** Where the service can read the same bytes; none means every write uploads. */
  copySource?: () => Promise<CopySource | undefined>;
  leaseId?: string;
  abortSignal?: AbortSignal;
}

export type WriteRoute = 'server' | 'client';

export class PageWriter {
  private serverCopy: boolean;
  /** Why server-side copy was given up for this writer, once it was (safe to log: a code, no URL). */
  fallbackReason?: string;

  constructor(
    private readonly target: PageBlobClient,
    private readonly options: PageWriterOptions = {},
  ) {
    this.serverCopy = options.copySource !== undefined && !unsupportedAccounts.has(accountOf(target));
  }

  /** Writes `bytes` (the source's bytes of `range`, ≤ 4 MiB) at `range.start`; says which way it went. */
  async write(range: ByteRange, bytes: Buffer): Promise<WriteRoute> {
    const length = range.end - range.start;
    const conditions = this.options.leaseId ? { leaseId: this.options.leaseId } : undefined;
    if (this.serverCopy) {
      const source = await this.options.copySource!();
      if (source) {
        try {
          await this.target.uploadPagesFromURL(source.url, range.start, range.start, length, {
            conditions,
            abortSignal: this.options.abortSignal,
            ...(source.authorization ? { sourceAuthorization: source.authorization } : {}),
          });
          return 'server';
        } catch (e) {
          if (!this.giveUpServerCopy(e)) throw e;
        }
      }
    }
    await this.target.uploadPages(bytes, range.start, length, { conditions, abortSignal: this.options.abortSignal });
    return 'client';
  }

  /**
   * Whether a failed Put Page From URL should be written by the client instead: the service
   * does not offer it (501), or it could not read the source (the service names the source's
   * status). Anything about the target (its lease, its size, throttling after retries) is
   * not a reason: Put Page would fail the same way, so it is thrown.
   */
  private giveUpServerCopy(e: unknown): boolean {
    const status = storageStatus(e);
    if (status === 501) {
      unsupportedAccounts.add(accountOf(this.target));
      this.serverCopy = false;
      this.fallbackReason = 'NotImplemented';
      return true;
    }
    const sourceStatus = (e as { details?: { copySourceStatusCode?: unknown } } | null)?.details?.copySourceStatusCode;
    const code = storageCode(e);
    if (typeof sourceStatus === 'number' || code === 'CannotVerifyCopySource' || code?.startsWith('CopySource')) {
      this.serverCopy = false;
      this.fallbackReason = code ?? `source answered ${String(sourceStatus)}`;
      return true;
    }
    return false;
  }
}

function accountOf(blob: PageBlobClient): string {
  const url = new URL(blob.url);
  // Azurite and other IP-style endpoints name the account in the first path segment.
  return `${url.host}/${/^[\d.]+$|^localhost$|^\[/.test(url.hostname) ? (url.pathname.split('/')[1] ?? '') : ''}`;
}

/** Forgets which accounts answered 501 (tests switch a proxy's behaviour between runs). */
export function resetServerCopySupport(): void {
  unsupportedAccounts.clear();
}
