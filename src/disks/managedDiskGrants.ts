/**
 * Read access to managed-disk snapshots (beginGetAccess / endGetAccess), granted for the shortest
 * useful time and always revoked.
 *
 * Why a registry and not one grant per call: `endGetAccess` revokes *every* access URL of a
 * resource, so two users of one snapshot that each granted and revoked would break each other
 * (the planner lists a snapshot's ranges and diffs it at the same time). Here every user takes a
 * *lease* on the snapshot's grant: the first lease grants, the last release revokes, and a lease
 * that needs more time than the live grant has left waits until the grant is free and then
 * grants again. Leases are process-wide per ARM endpoint and disk, so two sources of one disk in
 * one process share them too. Across processes nothing is shared: the workflow must never run
 * two activities that read one managed disk's snapshots at the same time (it runs a managed
 * disk's copy chunks one after another; the copy inside a chunk is parallel on one reader).
 *
 * Azure lets at most 5 snapshots of one disk have access at once. A plan needs 2 (the previous
 * snapshot and the new one), so leases on more than `maxGrantedSnapshots` (default 2) distinct
 * snapshots of one disk wait; a caller that needs two snapshots takes both at once, so waiting
 * never deadlocks.
 *
 * Always revoke: a grant whose polling failed may still have been made (the server granted, the
 * client never heard), so a failed grant is revoked too; a release revokes whatever happened to
 * the work. A revoke that still fails after its retries leaves a grant that expires by itself
 * after its (short) duration; the release then throws (unless the work already failed).
 */
import { armFailure, isTransientArmFailure } from '../azure/armFailures';

/** The ARM side: grant read access to a snapshot (answers the access URL), revoke all access. */
export interface SnapshotAccessApi {
  grantRead(snapshotId: string, durationInSeconds: number): Promise<string>;
  revoke(snapshotId: string): Promise<void>;
}

export interface GrantRetryOptions {
  /** Attempts of one grant or revoke (default 3 for grants, 4 for revokes). */
  readonly grantAttempts?: number;
  readonly revokeAttempts?: number;
  /** Delay before the n-th retry is n × this (default 1000 ms). */
  readonly retryDelayMs?: number;
}

/** Extra seconds a grant lives beyond what its first user asked for, so concurrent users of similar work share it. */
const GRANT_SLACK_SECONDS = 60;
export const MIN_GRANT_SECONDS = 60;
/** No activity outlives host.json's functionTimeout (2 h), so no grant needs to either. */
export const MAX_GRANT_SECONDS = 2 * 60 * 60;

export function boundGrantSeconds(seconds: number): number {
  return Math.min(MAX_GRANT_SECONDS, Math.max(MIN_GRANT_SECONDS, Math.ceil(seconds)));
}

interface Entry {
  readonly snapshotId: string;
  holders: number;
  accessUrl?: string;
  expiresAtMs: number;
  /** A grant was asked for (it may exist even if the call failed): revoke at the end. */
  attempted: boolean;
}

export interface SnapshotLease {
  readonly snapshotId: string;
  /** The access URL (SAS). Never return it, log it or put it in an error. */
  readonly accessUrl: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class DiskGrants {
  private readonly entries = new Map<string, Entry>();
  private lock: Promise<void> = Promise.resolve();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly api: SnapshotAccessApi,
    private readonly maxGrantedSnapshots: number,
    private readonly retry: GrantRetryOptions = {},
  ) {}

  /** Snapshots of this disk with a live (or possibly live) grant right now. */
  granted(): string[] {
    return [...this.entries.values()].map((e) => e.snapshotId);
  }

  /**
   * Runs `work` with read access to every snapshot in `snapshotIds` (access URLs in the same
   * order), granted for `durationInSeconds` (bounded), and releases the leases however `work` ends.
   */
  async withAccess<T>(snapshotIds: readonly string[], durationInSeconds: number, work: (accessUrls: string[]) => Promise<T>): Promise<T> {
    const leases = await this.acquire(snapshotIds, durationInSeconds);
    let result: T | undefined;
    let failure: { error: unknown } | undefined;
    try {
      result = await work(leases.map((l) => l.accessUrl));
    } catch (e) {
      failure = { error: e };
    }
    try {
      await this.release(leases);
    } catch (revokeError) {
      if (!failure) throw revokeError;
    }
    if (failure) throw failure.error;
    return result as T;
  }

  /** Takes a lease on each snapshot (all at once, waiting while that would exceed the limit). */
  async acquire(snapshotIds: readonly string[], durationInSeconds: number): Promise<SnapshotLease[]> {
    const seconds = boundGrantSeconds(durationInSeconds);
    const keys = [...new Set(snapshotIds.map((id) => id.toLowerCase()))];
    if (keys.length > this.maxGrantedSnapshots) {
      throw new Error(`cannot hold access to ${keys.length} snapshots of one disk at once (at most ${this.maxGrantedSnapshots})`);
    }
    for (;;) {
      const outcome = await this.locked(async (): Promise<{ wait: Promise<void> } | { leases: SnapshotLease[] }> => {
        const neededUntil = Date.now() + seconds * 1000;
        const distinct = new Set([...this.entries.keys(), ...keys]);
        const stale = keys.some((k) => {
          const e = this.entries.get(k);
          return e !== undefined && e.holders > 0 && e.expiresAtMs < neededUntil;
        });
        if (distinct.size > this.maxGrantedSnapshots || stale) {
          return { wait: new Promise<void>((resolve) => this.waiters.push(resolve)) };
        }
        const taken: Entry[] = [];
        try {
          for (const [i, key] of keys.entries()) {
            const id = snapshotIds.find((s) => s.toLowerCase() === key) ?? (snapshotIds[i] as string);
            let entry = this.entries.get(key);
            if (!entry) {
              entry = { snapshotId: id, holders: 0, expiresAtMs: 0, attempted: false };
              this.entries.set(key, entry);
            }
            entry.holders += 1;
            taken.push(entry);
            if (!entry.accessUrl || entry.expiresAtMs < neededUntil) {
              // Only this lease holds it (see `stale`): a grant too short for this work is replaced.
              if (entry.accessUrl) await this.revoke(entry);
              entry.attempted = true;
              const grantedAt = Date.now();
              entry.accessUrl = await this.grant(entry.snapshotId, seconds + GRANT_SLACK_SECONDS);
              entry.expiresAtMs = grantedAt + (seconds + GRANT_SLACK_SECONDS) * 1000;
            }
          }
        } catch (e) {
          await this.drop(taken);
          throw e;
        }
        return { leases: taken.map((e) => ({ snapshotId: e.snapshotId, accessUrl: e.accessUrl as string })) };
      });
      if ('leases' in outcome) return outcome.leases;
      await outcome.wait;
    }
  }

  /** Ends the leases; the last lease of a snapshot revokes its access. */
  async release(leases: readonly SnapshotLease[]): Promise<void> {
    await this.locked(async () => {
      const entries = leases.map((l) => this.entries.get(l.snapshotId.toLowerCase())).filter((e): e is Entry => e !== undefined);
      await this.drop(entries);
    });
  }

  /** Inside the lock: one holder less on each entry; revoke and forget those nobody holds. */
  private async drop(entries: readonly Entry[]): Promise<void> {
    let firstError: unknown;
    for (const entry of entries) {
      entry.holders -= 1;
      if (entry.holders > 0) continue;
      this.entries.delete(entry.snapshotId.toLowerCase());
      if (!entry.attempted) continue;
      try {
        await this.revoke(entry);
      } catch (e) {
        firstError ??= e;
      }
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
    if (firstError !== undefined) throw firstError;
  }

  private async grant(snapshotId: string, seconds: number): Promise<string> {
    const attempts = this.retry.grantAttempts ?? 3;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.api.grantRead(snapshotId, seconds);
      } catch (e) {
        if (attempt >= attempts || !isTransientArmFailure(e)) throw armFailure('granting read access', snapshotId, e);
        await sleep(attempt * (this.retry.retryDelayMs ?? 1000));
      }
    }
  }

  private async revoke(entry: Entry): Promise<void> {
    entry.accessUrl = undefined;
    entry.expiresAtMs = 0;
    const attempts = this.retry.revokeAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.api.revoke(entry.snapshotId);
        return;
      } catch (e) {
        if (attempt >= attempts || !isTransientArmFailure(e)) {
          throw armFailure('revoking access (the grant expires by itself within its duration)', entry.snapshotId, e);
        }
        await sleep(attempt * (this.retry.retryDelayMs ?? 1000));
      }
    }
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

const registry = new Map<string, DiskGrants>();

/**
 * The process-wide grant registry of one disk (per ARM endpoint). The first caller's API,
 * limit and retry options are kept: every source of a disk in one process uses the same ARM access.
 */
export function grantsForDisk(endpoint: string, diskId: string, create: () => DiskGrants): DiskGrants {
  const key = `${endpoint.toLowerCase()}|${diskId.toLowerCase()}`;
  let grants = registry.get(key);
  if (!grants) {
    grants = create();
    registry.set(key, grants);
  }
  return grants;
}
