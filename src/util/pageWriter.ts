/**
 * Writes pages the caller has already read (and hashed) into a page blob, the fastest way the
 * service allows: on Azure, Put Page From URL, so the service fetches the bytes from the source
 * snapshot itself and the Function uploads nothing; where that fails for any reason (Azurite
 * answers 501, or 500 through a SAS; a source the service cannot reach; an expired token), Put
 * Page with the caller's bytes. Both write the same bytes: the source is an immutable snapshot,
 * read at the same offsets.
 */
import { PageBlobClient } from '@azure/storage-blob';
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
  /** The target, asked once per server-side write: a failure falls back at once, not after retries. */
  private readonly once: PageBlobClient;
  /** Why server-side copy was given up for this writer, once it was (a code or status, never a URL). */
  fallbackReason?: string;
  /** A server-side write has worked: the rest go out together. */
  private proven = false;
  /** The first server-side write, while it is in flight. */
  private trial?: Promise<void>;

  constructor(
    private readonly target: PageBlobClient,
    private readonly options: PageWriterOptions = {},
  ) {
    this.serverCopy = options.copySource !== undefined && !unsupportedAccounts.has(accountOf(target));
    this.once = new PageBlobClient(target.url, target.credential, { retryOptions: { maxTries: 1 } });
  }

  /** Writes `bytes` (the source's bytes of `range`, ≤ 4 MiB) at `range.start`; says which way it went. */
  async write(range: ByteRange, bytes: Buffer): Promise<WriteRoute> {
    const conditions = this.options.leaseId ? { leaseId: this.options.leaseId } : undefined;
    const abortSignal = this.options.abortSignal;
    // Until one server-side write has worked, writes wait for the one in flight instead of all
    // asking at once: where the service lacks it (the emulator), one request is wasted, not eight.
    while (this.serverCopy && this.trial) await this.trial;
    if (this.serverCopy) {
      const attempt = this.serverWrite(range, conditions);
      if (!this.proven) this.trial = attempt.then(() => undefined, () => undefined).finally(() => (this.trial = undefined));
      if (await attempt) return 'server';
    }
    await this.target.uploadPages(bytes, range.start, range.end - range.start, { conditions, abortSignal });
    return 'client';
  }

  /** One Put Page From URL, without retries; false (and server-side copy off) when it failed. */
  private async serverWrite(range: ByteRange, conditions: { leaseId: string } | undefined): Promise<boolean> {
    const source = await this.options.copySource!();
    if (!source) return false;
    try {
      await this.once.uploadPagesFromURL(source.url, range.start, range.start, range.end - range.start, {
        conditions,
        abortSignal: this.options.abortSignal,
        ...(source.authorization ? { sourceAuthorization: source.authorization } : {}),
      });
      this.proven = true;
      return true;
    } catch (e) {
      this.options.abortSignal?.throwIfAborted();
      this.giveUpServerCopy(e);
      return false;
    }
  }

  /**
   * After any failed Put Page From URL this writer uploads instead. Put Page is always correct,
   * and it carries the client's full retry policy: a failure about the target itself (its lease,
   * its size, throttling) fails it the same way and is thrown from there, never hidden. A 501
   * (the emulator) also stops every writer in this process from asking that account again.
   */
  private giveUpServerCopy(e: unknown): void {
    const status = storageStatus(e);
    if (status === 501) unsupportedAccounts.add(accountOf(this.target));
    this.serverCopy = false;
    this.fallbackReason = storageCode(e) ?? (status === undefined ? 'no answer' : `HTTP ${status}`);
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
