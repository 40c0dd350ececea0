/**
 * Collects what failed or abandoned jobs leave in a disk's vault that nothing points at:
 *   - vault snapshots of the base tagged with a recovery point id that has no manifest (a seal
 *     that failed after its snapshot and was abandoned), and hash lists without a manifest;
 *   - working folders of jobs that never sealed (an abandon that did not finish), and the sealed
 *     markers of jobs long done (they only answer a seal retried while its job still runs).
 * A recovery point exists exactly when its manifest does, so nothing listed or restorable is ever
 * touched, and the chain head's point is never collected. Only things older than a grace period
 * go: prune runs in the disk's one orchestration (no job of the disk runs meanwhile), and the
 * grace also covers a job that is slow rather than dead.
 */
import { vaultPaths } from '../vault/vaultLayout';
import type { VaultDisk } from '../vault/vaultDisk';
import { readChain } from '../vault/chainState';
import { deleteBlobIfExists } from '../vault/jsonBlob';
import { snapshotTime } from '../util/snapshotTime';
import { errors } from '../errors';
import { listRecoveryPointIds } from './recoveryPoints';

/** Orphans younger than this are left alone. */
export const ORPHAN_GRACE_MS = 24 * 60 * 60 * 1000;

export interface OrphanReport {
  vaultSnapshots: number;
  hashLists: number;
  /** Blobs of unsealed jobs' folders, and old sealed markers. */
  jobDocuments: number;
}

export async function collectOrphans(vault: VaultDisk, now: Date, graceMs = ORPHAN_GRACE_MS): Promise<OrphanReport> {
  const { container, diskKey } = vault;
  const cutoff = now.getTime() - graceMs;
  const [ids, chain] = await Promise.all([listRecoveryPointIds(vault), readChain(container, diskKey)]);
  const live = new Set(ids);
  const head = chain.state.head?.recoveryPointId;
  const orphan = (rpId: string | undefined): boolean => rpId !== undefined && rpId !== head && !live.has(rpId);
  const report: OrphanReport = { vaultSnapshots: 0, hashLists: 0, jobDocuments: 0 };

  for await (const { snapshot, recoveryPointId } of vault.baseSnapshots()) {
    if (!orphan(recoveryPointId) || snapshotTime(snapshot).getTime() > cutoff) continue;
    try {
      await vault.base.withSnapshot(snapshot).deleteIfExists();
    } catch (e) {
      throw errors.storage(`deleting an orphaned vault snapshot of ${diskKey}`, e);
    }
    report.vaultSnapshots++;
  }

  const points = vaultPaths.pointsPrefix(diskKey);
  for await (const item of container.listBlobsFlat({ prefix: points })) {
    if (!item.name.endsWith('.blocks') || item.properties.lastModified.getTime() > cutoff) continue;
    if (!orphan(item.name.slice(points.length, -'.blocks'.length))) continue;
    await deleteBlobIfExists(container, item.name);
    report.hashLists++;
  }

  // Job folders, grouped by job: a folder with a sealed marker is done (only the marker is
  // left); one without is a job that never sealed. Either goes once all of it is old.
  const jobs = new Map<string, { names: string[]; newest: number }>();
  const jobsPrefix = `disks/${diskKey}/jobs/`;
  for await (const item of container.listBlobsFlat({ prefix: jobsPrefix })) {
    const jobId = item.name.slice(jobsPrefix.length).split('/')[0] ?? '';
    const job = jobs.get(jobId) ?? { names: [], newest: 0 };
    job.names.push(item.name);
    job.newest = Math.max(job.newest, item.properties.lastModified.getTime());
    jobs.set(jobId, job);
  }
  for (const [jobId, job] of jobs) {
    if (job.newest > cutoff) continue;
    // The plan goes last: while it exists, its chunk files are expected to.
    const plan = vaultPaths.plan(diskKey, jobId);
    for (const name of [...job.names.filter((n) => n !== plan), ...job.names.filter((n) => n === plan)]) {
      await deleteBlobIfExists(container, name);
      report.jobDocuments++;
    }
  }
  return report;
}
