/**
 * Ends a job that failed before its seal: gives its write lease back and removes its working
 * documents. Nothing sealed is touched: every earlier recovery point stays as it was, and the
 * next job repairs whatever this one half-wrote in the base blob (see deltaPlan.ts).
 */
import { errors, storageStatus } from '../errors';
import { leaseIdForJob } from '../vault/baseLease';
import { deleteBlobIfExists } from '../vault/jsonBlob';
import type { VaultDisk } from '../vault/vaultDisk';
import { vaultPaths } from '../vault/vaultLayout';

export async function abandonBackup(vault: VaultDisk, jobId: string): Promise<void> {
  try {
    await vault.base.getBlobLeaseClient(leaseIdForJob(jobId)).releaseLease();
  } catch (e) {
    // 404: no base yet; 409: the lease is not this job's (expired, or another job's): leave it.
    const status = storageStatus(e);
    if (status !== 404 && status !== 409 && status !== 412) throw errors.storage(`releasing the lease of job ${jobId}`, e);
  }
  for await (const item of vault.container.listBlobsFlat({ prefix: vaultPaths.jobPrefix(vault.diskKey, jobId) })) {
    await deleteBlobIfExists(vault.container, item.name);
  }
}
