/**
 * Where everything lives in the vault container (docs/design.md has the full tree):
 *
 *   disks/<diskKey>/disk.vhd                     base page blob; its snapshots are the recovery points
 *   disks/<diskKey>/chain.json                   chain head (ETag-conditional writes)
 *   disks/<diskKey>/points/<rpId>.json           manifest (a recovery point exists iff this exists)
 *   disks/<diskKey>/points/<rpId>.blocks         per-block SHA-256 list of the allocated blocks
 *   disks/<diskKey>/jobs/<jobId>/plan.json       the job's plan (counts, chunk list)
 *   disks/<diskKey>/jobs/<jobId>/chunks/<n>.json ranges of chunk n
 *   disks/<diskKey>/jobs/<jobId>/done/<n>.json   chunk n's result (written last: the done marker)
 *   disks/<diskKey>/jobs/<jobId>/sealed.json     which recovery point the job sealed (kept after the job)
 */
import { errors } from '../errors';

/** Vault snapshot metadata key naming the recovery point the snapshot is. */
export const RECOVERY_POINT_METADATA_KEY = 'deltavaultrp';
/**
 * Base blob metadata key naming the job that last planned against it: the only job that may
 * write it (copy) and snapshot it (seal). A later plan takes the base over.
 */
export const WRITER_METADATA_KEY = 'deltavaultwriter';

/**
 * Size of a hashed block: the unit of the manifest's SHA-256 list, of verify's reports, and of
 * the data an incremental re-reads to hash a block it changed in part.
 */
export const BLOCK_BYTES = 1024 * 1024;
/** Data moves in aligned windows of this size (the largest Put Page), several blocks at a time. */
export const WINDOW_BYTES = 4 * 1024 * 1024;

const DISK_KEY = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export function assertDiskKey(diskKey: string): void {
  if (!DISK_KEY.test(diskKey)) {
    throw errors.invalidArgument(
      'disk key',
      `'${diskKey}' must be 1-63 lowercase letters, digits or inner hyphens (it names vault blobs)`,
    );
  }
}

export function assertJobId(jobId: string): void {
  if (!JOB_ID.test(jobId)) {
    throw errors.invalidArgument('job id', `'${jobId}' must be 1-128 letters, digits, '_', '.', ':' or '-'`);
  }
}

export const vaultPaths = {
  diskPrefix: (diskKey: string) => `disks/${diskKey}/`,
  base: (diskKey: string) => `disks/${diskKey}/disk.vhd`,
  chain: (diskKey: string) => `disks/${diskKey}/chain.json`,
  pointsPrefix: (diskKey: string) => `disks/${diskKey}/points/`,
  manifest: (diskKey: string, rpId: string) => `disks/${diskKey}/points/${rpId}.json`,
  blockHashes: (diskKey: string, rpId: string) => `disks/${diskKey}/points/${rpId}.blocks`,
  jobPrefix: (diskKey: string, jobId: string) => `disks/${diskKey}/jobs/${jobId}/`,
  plan: (diskKey: string, jobId: string) => `disks/${diskKey}/jobs/${jobId}/plan.json`,
  chunk: (diskKey: string, jobId: string, n: number) => `disks/${diskKey}/jobs/${jobId}/chunks/${n}.json`,
  chunkDone: (diskKey: string, jobId: string, n: number) => `disks/${diskKey}/jobs/${jobId}/done/${n}.json`,
  sealed: (diskKey: string, jobId: string) => `disks/${diskKey}/jobs/${jobId}/sealed.json`,
};

/** Recovery point ids: `<diskKey>.<UTC time of the source snapshot, compact>`; sortable per disk. */
export function recoveryPointId(diskKey: string, sourceCreatedAt: Date): string {
  const compact = sourceCreatedAt.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${diskKey}.${compact}`;
}

export function parseRecoveryPointId(rpId: string): { diskKey: string; createdAt: Date } {
  const match = /^([a-z0-9-]+)\.(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(rpId);
  if (!match) throw errors.invalidArgument('recovery point id', `'${rpId}' is not of the form <diskKey>.<yyyymmddThhmmssfffZ>`);
  const [, diskKey, y, mo, d, h, mi, s, ms] = match as unknown as string[];
  assertDiskKey(diskKey!);
  const createdAt = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
  if (Number.isNaN(createdAt.getTime()) || recoveryPointId(diskKey!, createdAt) !== rpId) {
    throw errors.invalidArgument('recovery point id', `'${rpId}' does not name a real UTC time`);
  }
  return { diskKey: diskKey!, createdAt };
}
