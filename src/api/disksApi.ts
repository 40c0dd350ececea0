/**
 * The protected-disks route of the HTTP API (CONTRACT.md), as a plain function so it runs without
 * the Functions runtime:
 *
 *   GET /api/disks   every disk the protection config names, in config order:
 *     { key, source, policy, schedule,
 *       lastJob: { jobId, status, trigger?, startedAt, endedAt?, recoveryPointId?, error? } | null,
 *       lastRecoveryPoint: { id, takenAt, sealedAt, mode, sizeBytes, bytesChanged } | null,
 *       rpo: { met, expectedSince, lastFire },
 *       error? }
 *
 * `lastJob` is the disk's newest backup job in the job history (the events consumer's table);
 * `lastRecoveryPoint` the newest point in the vault, whose `takenAt` (the source snapshot's
 * time) decides whether the RPO is met (src/retention/rpo.ts). A virtual machine shows its
 * newest VM point (sizes and changes summed over its disks) and the newest job of its disks.
 * Tag-selected disks are not listed (resolving them takes ARM calls; GET /api/jobs shows them).
 * A disk whose newest point cannot be read (a damaged manifest, a storage failure) does not hide
 * the others: its row carries `error` ({ code, message }), no point, and an RPO not met.
 */
import type { HttpResponseInit } from '@azure/functions';
import type { TableClient } from '@azure/data-tables';
import type { ContainerClient } from '@azure/storage-blob';
import { newestRecoveryPoint, readRecoveryPoint } from '../catalog/recoveryPoints';
import { newestVmRecoveryPoint } from '../catalog/vmRecoveryPoints';
import type { ProtectedDisk, ProtectionConfig } from '../config/protectionConfig';
import { errors, isDeltavaultError, storageCode } from '../errors';
import { answerWithProblems, type ProblemContext } from '../http/problem';
import { lastJobPerDisk } from '../jobs/jobHistory';
import type { JobRecord } from '../jobs/jobRecord';
import { rpoStatus } from '../retention/rpo';
import { forEachBounded } from '../util/boundedPool';
import { summarize, type RecoveryPointSummary } from '../vault/manifest';
import { VaultDisk } from '../vault/vaultDisk';

export interface DiskStatus {
  key: string;
  source: { kind: 'pageBlob'; url: string } | { kind: 'managedDisk' | 'virtualMachine'; id: string };
  policy: string;
  schedule: string;
  lastJob: {
    jobId: string;
    status: JobRecord['status'];
    trigger?: JobRecord['trigger'];
    startedAt: string;
    endedAt?: string;
    recoveryPointId?: string;
    error?: JobRecord['error'];
  } | null;
  lastRecoveryPoint: {
    id: string;
    takenAt: string;
    sealedAt: string;
    mode: RecoveryPointSummary['mode'];
    sizeBytes: number;
    bytesChanged: number;
  } | null;
  rpo: { met: boolean; expectedSince: string; lastFire: string };
  /** Why the newest recovery point could not be read (then `lastRecoveryPoint` is null and the RPO not met). */
  error?: { code: string; message: string };
}

export interface DisksApiDeps {
  config: () => Promise<ProtectionConfig>;
  vaultContainer: ContainerClient | (() => ContainerClient);
  jobsTable: TableClient | (() => TableClient);
  now?: () => Date;
}

export interface DisksApi {
  listDisks(request: unknown, context: ProblemContext): Promise<HttpResponseInit>;
}

/** Disks whose newest recovery point is read at once. */
const READ_CONCURRENCY = 8;

export function disksApi(deps: DisksApiDeps): DisksApi {
  const container = typeof deps.vaultContainer === 'function' ? deps.vaultContainer : () => deps.vaultContainer as ContainerClient;
  const table = typeof deps.jobsTable === 'function' ? deps.jobsTable : () => deps.jobsTable as TableClient;
  const now = deps.now ?? (() => new Date());
  return {
    listDisks: (_request, context) =>
      answerWithProblems(context, async () => {
        const config = await deps.config();
        const at = now();
        const [lastJobs, newest] = await Promise.all([lastJobPerDisk(table(), { kind: 'backup' }), newestPoints(container(), config.disks)]);
        // A VM's last job: the newest of its disks' jobs (the disks of its newest point).
        for (const disk of config.disks.filter((d) => d.source.kind === 'virtualMachine')) {
          const found = newest.get(disk.key);
          const jobs = (found && 'diskKeys' in found ? (found.diskKeys ?? []) : []).map((k) => lastJobs.get(k)).filter((j): j is JobRecord => j !== undefined);
          const latest = jobs.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1))[0];
          if (latest) lastJobs.set(disk.key, latest);
        }
        const body: DiskStatus[] = config.disks.map((disk) => {
          const schedule = config.policies.find((p) => p.name === disk.policy)?.schedule;
          if (schedule === undefined) throw errors.configInvalid('the protection config', [{ path: `$.disks[?(@.key=='${disk.key}')].policy`, problem: 'names no policy' }]);
          const found = newest.get(disk.key);
          const status = diskStatus(disk, schedule, lastJobs.get(disk.key), found && 'summary' in found ? found.summary : undefined, at);
          return found && 'error' in found ? { ...status, error: found.error } : status;
        });
        return { status: 200, jsonBody: body };
      }),
  };
}

/** One disk's status (pure). */
export function diskStatus(disk: ProtectedDisk, schedule: string, job: JobRecord | undefined, point: RecoveryPointSummary | undefined, now: Date): DiskStatus {
  const rpo = rpoStatus(schedule, now, point ? new Date(point.source.createdAt) : undefined);
  return {
    key: disk.key,
    source: disk.source.kind === 'pageBlob' ? { kind: 'pageBlob', url: disk.source.url } : { kind: disk.source.kind, id: disk.source.id },
    policy: disk.policy,
    schedule,
    lastJob: job
      ? {
          jobId: job.jobId,
          status: job.status,
          ...(job.trigger ? { trigger: job.trigger } : {}),
          startedAt: job.startedAt,
          ...(job.endedAt ? { endedAt: job.endedAt } : {}),
          ...(job.recoveryPointId ? { recoveryPointId: job.recoveryPointId } : {}),
          ...(job.error ? { error: job.error } : {}),
        }
      : null,
    lastRecoveryPoint: point
      ? {
          id: point.id,
          takenAt: point.source.createdAt,
          sealedAt: point.sealedAt,
          mode: point.mode,
          sizeBytes: point.sizeBytes,
          bytesChanged: point.bytes.changed,
        }
      : null,
    rpo: { met: rpo.met, expectedSince: rpo.expectedSince.toISOString(), lastFire: rpo.lastFire.toISOString() },
  };
}

/** A disk's (or VM's) newest point, and for a VM the keys of the disks in it. */
interface NewestPoint {
  summary: RecoveryPointSummary;
  diskKeys?: string[];
}

/** A VM's newest point as a summary of the fields GET /api/disks shows (its disks' totals). */
async function newestVmPoint(container: ContainerClient, vmKey: string): Promise<NewestPoint | undefined> {
  const point = await newestVmRecoveryPoint(container, vmKey);
  if (!point) return undefined;
  const disks = await Promise.all(point.disks.map((d) => readRecoveryPoint(container, d.recoveryPointId).catch(() => undefined)));
  const sum = (f: (m: NonNullable<(typeof disks)[number]>) => number): number => disks.reduce((n, m) => n + (m ? f(m) : 0), 0);
  const first = disks.find((m) => m !== undefined);
  if (!first) return undefined;
  const summary: RecoveryPointSummary = {
    ...summarize(first),
    id: point.id,
    source: { ...first.source, createdAt: point.takenAt },
    mode: disks.every((m) => m?.mode === 'full') ? 'full' : 'incremental',
    sizeBytes: sum((m) => m.sizeBytes),
    bytes: { ...first.bytes, changed: sum((m) => m.bytes.changed) },
  };
  return { summary, diskKeys: point.disks.map((d) => d.diskKey) };
}

/** Each disk's newest point, or why it could not be read: one disk's failure is its own row's. */
async function newestPoints(container: ContainerClient, disks: readonly ProtectedDisk[]): Promise<Map<string, NewestPoint | { error: { code: string; message: string } }>> {
  const found = new Map<string, NewestPoint | { error: { code: string; message: string } }>();
  await forEachBounded(disks, READ_CONCURRENCY, async (disk) => {
    let point: NewestPoint | undefined;
    try {
      if (disk.source.kind === 'virtualMachine') point = await newestVmPoint(container, disk.key);
      else {
        const summary = await newestRecoveryPoint(new VaultDisk(container, disk.key));
        point = summary ? { summary } : undefined;
      }
    } catch (e) {
      if (storageCode(e) === 'ContainerNotFound') return; // no backup has run yet
      const error = isDeltavaultError(e) ? e : errors.storage(`reading the newest recovery point of disk '${disk.key}'`, e);
      found.set(disk.key, { error: { code: error.code, message: error.message } });
      return;
    }
    if (point) found.set(disk.key, point);
  });
  return found;
}
