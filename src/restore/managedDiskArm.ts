/**
 * The few ARM calls a managed-disk restore makes on its target disk (get, create, tag, grant,
 * revoke, delete), and how their failures become DeltavaultErrors.
 *
 * How `@azure/arm-compute` reports a failure, and what is retried:
 * - a request answered 429/5xx is retried by the client's own policy (Retry-After honoured);
 *   when it gives up the answer is a RestError with `statusCode` and the ARM `code`;
 * - a long-running operation that ended `Failed` is a plain Error from core-lro
 *   ("The long-running operation has failed. <code>. …") when followed through
 *   Azure-AsyncOperation (PUT), a RestError with the ARM code when followed through Location
 *   (POST, DELETE, PATCH). Every call here is idempotent (a PUT of the same body, a grant, a
 *   revoke, a delete), so an operation that ended Failed with a server-side code is tried again
 *   (`ATTEMPTS` in all); a 4xx answer is about the request and is not.
 *
 * Errors name the operation and the disk's resource id, the ARM code and HTTP status, and nothing
 * else: the raw error is never attached as `cause` (a RestError keeps its request, and an access
 * URL in a request is a SAS), and ARM's message text is not copied.
 */
import type { ComputeManagementClient, Disk } from '@azure/arm-compute';
import { armFailureFacts, isTransientArmFailure } from '../azure/armFailures';
import { DeltavaultError, isDeltavaultError } from '../errors';

const ATTEMPTS = 3;

/**
 * `operation` of `diskId` failed: `INVALID_ARGUMENT` for a 400 (the request itself is wrong,
 * e.g. a location or SKU Azure refuses), `STORAGE_FAILED` otherwise. No cause, no ARM message.
 */
export function diskFailure(operation: string, diskId: string, e: unknown): DeltavaultError {
  if (isDeltavaultError(e)) return e;
  const f = armFailureFacts(e);
  const what = [f.code ?? (e instanceof Error && f.status === undefined ? e.name : 'error'), f.status === undefined ? '' : ` (HTTP ${f.status})`].join('');
  const message = `${operation} managed disk '${diskId}' failed: ${f.operationFailed ? 'the operation ended Failed: ' : ''}${what}`;
  const details = { operation, resource: diskId, status: f.status, armCode: f.code };
  if (f.status === 400) return new DeltavaultError('INVALID_ARGUMENT', message, { details });
  return new DeltavaultError('STORAGE_FAILED', message, { details });
}

export interface TargetDiskRef {
  readonly client: ComputeManagementClient;
  readonly resourceGroup: string;
  readonly name: string;
  /** The disk's ARM resource id: what errors name. */
  readonly id: string;
  /** Poll interval of long-running operations (ms); the client's default when undefined. */
  readonly pollIntervalMs?: number;
  /** Wait before trying a failed operation again (ms). */
  readonly retryDelayMs: number;
}

async function attempt<T>(disk: TargetDiskRef, operation: string, call: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await call();
    } catch (e) {
      if (n >= ATTEMPTS || !isTransientArmFailure(e)) throw diskFailure(operation, disk.id, e);
      await new Promise((resolve) => setTimeout(resolve, disk.retryDelayMs * n));
    }
  }
}

const polling = (disk: TargetDiskRef): { updateIntervalInMs?: number } =>
  disk.pollIntervalMs === undefined ? {} : { updateIntervalInMs: disk.pollIntervalMs };

/** The disk, or undefined when it does not exist. */
export async function getDisk(disk: TargetDiskRef): Promise<Disk | undefined> {
  return attempt(disk, 'reading', async () => {
    try {
      return await disk.client.disks.get(disk.resourceGroup, disk.name);
    } catch (e) {
      if (armFailureFacts(e).status === 404) return undefined;
      throw e;
    }
  });
}

export function createDisk(disk: TargetDiskRef, body: Disk): Promise<Disk> {
  return attempt(disk, 'creating', () => disk.client.disks.beginCreateOrUpdateAndWait(disk.resourceGroup, disk.name, body, polling(disk)));
}

export function setDiskTags(disk: TargetDiskRef, tags: Record<string, string>): Promise<Disk> {
  return attempt(disk, 'tagging', () => disk.client.disks.beginUpdateAndWait(disk.resourceGroup, disk.name, { tags }, polling(disk)));
}

/** A SAS for the disk. The caller keeps it to itself: never returned, logged or put in an error. */
export async function grantAccess(disk: TargetDiskRef, access: 'Read' | 'Write', durationInSeconds: number): Promise<string> {
  const operation = `granting ${access} access to`;
  const uri = await attempt(disk, operation, () =>
    disk.client.disks.beginGrantAccessAndWait(disk.resourceGroup, disk.name, { access, durationInSeconds }, polling(disk)),
  );
  if (!uri.accessSAS) throw new DeltavaultError('STORAGE_FAILED', `${operation} managed disk '${disk.id}' returned no access URL`, { details: { operation, resource: disk.id } });
  return uri.accessSAS;
}

export function revokeAccess(disk: TargetDiskRef): Promise<void> {
  return attempt(disk, 'revoking access to', () => disk.client.disks.beginRevokeAccessAndWait(disk.resourceGroup, disk.name, polling(disk)));
}

export function deleteDisk(disk: TargetDiskRef): Promise<void> {
  return attempt(disk, 'deleting', () => disk.client.disks.beginDeleteAndWait(disk.resourceGroup, disk.name, polling(disk)));
}

/**
 * Runs `work` with a SAS of `access` to the disk and always revokes it afterwards, also when
 * the grant itself failed midway (a grant the service made but did not report is ended too).
 * A failed revoke is reported: access would stay until the grant expires.
 */
export async function withAccess<T>(disk: TargetDiskRef, access: 'Read' | 'Write', durationInSeconds: number, work: (sas: string) => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await work(await grantAccess(disk, access, durationInSeconds));
  } catch (e) {
    return revokeAfterFailure(disk, e);
  }
  await revokeAccess(disk);
  return result;
}

/**
 * After `e` ended work on the disk: revokes its access and rethrows `e`; a revoke that fails too
 * is attached to `e` as `others` (access would stay until the grant expires).
 */
export async function revokeAfterFailure(disk: TargetDiskRef, e: unknown): Promise<never> {
  await revokeAccess(disk).catch((revokeError: unknown) => {
    if (e instanceof Error) Object.assign(e, { others: [...((e as { others?: unknown[] }).others ?? []), revokeError] });
  });
  throw e;
}
