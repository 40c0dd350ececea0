/**
 * Access grants (beginGetAccess / endGetAccess) and the real SAS URLs they hand out.
 *
 * Each grant is a stored access policy (a signed identifier named after the grant) on the
 * container that holds the disk's bytes, and the SAS names that policy instead of carrying its
 * own permissions and expiry. Revoking a grant removes its policy, and from then on Azurite
 * refuses the SAS with 403: revocation is enforced by storage, not only written down. The policy
 * expires after the requested `durationInSeconds`, so an unrevoked SAS also stops working on time.
 * (Azure allows at most 5 signed identifiers per container; Azurite does not check that, and the
 * server relies on it not doing so when a disk and its snapshots hold more grants at once.)
 */
import { generateBlobSASQueryParameters, type SignedIdentifier } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import type { DiskDataStore } from './diskData';
import type { DataLocation, StoredResource } from './resourceStore';

export type GrantAccessLevel = 'Read' | 'Write';

export interface GrantRecord {
  readonly id: string;
  readonly resourceId: string;
  readonly resourceType: 'disks' | 'snapshots';
  readonly access: GrantAccessLevel;
  readonly durationInSeconds: number;
  readonly startedAt: Date;
  readonly expiresAt: Date;
  /** When it stopped granting access: revoked (endGetAccess), expired, or its resource deleted. */
  endedAt?: Date;
  endReason?: 'revoked' | 'expired' | 'deleted';
}

interface LiveGrant {
  readonly record: GrantRecord;
  readonly container: string;
}

export class AccessGrants {
  private readonly records: GrantRecord[] = [];
  private readonly live = new Map<string, LiveGrant>();
  /** Per container: the serialized chain of Set Container ACL calls (each writes the whole set). */
  private readonly aclWrites = new Map<string, Promise<void>>();

  /** `rewriteUrl` turns a blob URL of Azurite into the one handed out (the storage proxy's). */
  constructor(
    private readonly data: DiskDataStore,
    private readonly rewriteUrl: (url: string) => string = (url) => url,
  ) {}

  /** Makes a grant and its SAS URL. The URL is returned to the caller only, never recorded. */
  async grant(resource: StoredResource, data: DataLocation, access: GrantAccessLevel, durationInSeconds: number): Promise<{ record: GrantRecord; accessSAS: string }> {
    const startedAt = new Date();
    const record: GrantRecord = {
      id: `g${randomUUID().replace(/-/g, '').slice(0, 20)}`,
      resourceId: resource.id,
      resourceType: resource.type === 'snapshots' ? 'snapshots' : 'disks',
      access,
      durationInSeconds,
      startedAt,
      expiresAt: new Date(startedAt.getTime() + durationInSeconds * 1000),
    };
    this.live.set(record.id, { record, container: data.container });
    this.records.push(record);
    try {
      await this.writeAcl(data.container);
    } catch (e) {
      this.live.delete(record.id);
      record.endedAt = new Date();
      record.endReason = 'revoked';
      throw e;
    }
    const sas = generateBlobSASQueryParameters(
      { containerName: data.container, blobName: data.blob, snapshotTime: data.snapshot, identifier: record.id },
      this.data.credential,
    ).toString();
    const url = this.rewriteUrl(this.data.blobClient(data).url);
    return { record, accessSAS: `${url}${url.includes('?') ? '&' : '?'}${sas}` };
  }

  /** Ends every live grant of a resource (endGetAccess revokes per resource, not per SAS). */
  async revokeAll(resourceId: string, reason: 'revoked' | 'deleted'): Promise<number> {
    this.expire();
    const ending = [...this.live.values()].filter((g) => g.record.resourceId.toLowerCase() === resourceId.toLowerCase());
    if (ending.length === 0) return 0;
    for (const g of ending) this.live.delete(g.record.id);
    const containers = new Set(ending.map((g) => g.container));
    await Promise.all([...containers].map((c) => this.writeAcl(c)));
    const endedAt = new Date();
    for (const g of ending) {
      g.record.endedAt = endedAt;
      g.record.endReason = reason;
    }
    return ending.length;
  }

  /** Grants still giving access (not revoked, not expired), optionally of one resource. */
  active(resourceId?: string): GrantRecord[] {
    this.expire();
    return [...this.live.values()]
      .map((g) => g.record)
      .filter((r) => resourceId === undefined || r.resourceId.toLowerCase() === resourceId.toLowerCase());
  }

  /** Every grant ever made, oldest first (copies). */
  all(): GrantRecord[] {
    this.expire();
    return this.records.map((r) => ({ ...r }));
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, g] of this.live) {
      if (g.record.expiresAt.getTime() <= now) {
        this.live.delete(id);
        g.record.endedAt = g.record.expiresAt;
        g.record.endReason = 'expired';
      }
    }
  }

  private writeAcl(container: string): Promise<void> {
    const previous = this.aclWrites.get(container) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(async () => {
        const identifiers: SignedIdentifier[] = [...this.live.values()]
          .filter((g) => g.container === container && g.record.expiresAt.getTime() > Date.now())
          .map((g) => ({
            id: g.record.id,
            accessPolicy: {
              startsOn: new Date(g.record.startedAt.getTime() - 5 * 60_000),
              expiresOn: g.record.expiresAt,
              permissions: g.record.access === 'Write' ? 'rw' : 'r',
            },
          }));
        await this.data.service.getContainerClient(container).setAccessPolicy(undefined, identifiers);
      });
    this.aclWrites.set(container, next);
    return next;
  }
}
