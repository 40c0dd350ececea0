/**
 * The write lease on a disk's vault base blob. A job's lease id is derived from its job id, so
 * every activity of one job (and every retry) holds the same lease, while a second job gets a
 * clear BASE_LEASED error. Leases last 60 s and are renewed while a job writes, so a job that
 * dies stops blocking the disk within a minute.
 */
import { createHash } from 'node:crypto';
import type { PageBlobClient } from '@azure/storage-blob';
import { errors, storageCode, storageStatus } from '../errors';

export const LEASE_SECONDS = 60;
const RENEW_EVERY_MS = 20_000;

export function leaseIdForJob(jobId: string): string {
  const h = createHash('sha256').update(`deltavault-lease:${jobId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface HeldLease {
  readonly leaseId: string;
  /** Stops renewing; with `release`, gives the lease up at once. */
  stop(release: boolean): Promise<void>;
}

/** Takes (or re-takes, for the same job) the lease and keeps renewing it until stopped. */
export async function holdLease(base: PageBlobClient, diskKey: string, jobId: string): Promise<HeldLease> {
  const leaseId = leaseIdForJob(jobId);
  const lease = base.getBlobLeaseClient(leaseId);
  try {
    await lease.acquireLease(LEASE_SECONDS);
  } catch (e) {
    if (storageStatus(e) !== 409) throw errors.storage(`leasing the vault base blob of ${diskKey}`, e);
    // Already leased: ours (an earlier activity of this job) renews; anyone else's is a conflict.
    try {
      await lease.renewLease();
    } catch (renewError) {
      if (storageStatus(renewError) === 409 || storageCode(renewError)?.startsWith('Lease')) throw errors.baseLeased(diskKey, e);
      throw errors.storage(`renewing the lease on the vault base blob of ${diskKey}`, renewError);
    }
  }
  let failure: unknown;
  const timer = setInterval(() => {
    lease.renewLease().catch((e: unknown) => (failure = e));
  }, RENEW_EVERY_MS);
  timer.unref();
  return {
    leaseId,
    async stop(release: boolean) {
      clearInterval(timer);
      if (failure) throw errors.baseLeased(diskKey, failure);
      if (release) {
        try {
          await lease.releaseLease();
        } catch (e) {
          if (storageStatus(e) !== 409) throw errors.storage(`releasing the lease on the vault base blob of ${diskKey}`, e);
        }
      }
    },
  };
}
