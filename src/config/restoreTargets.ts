/**
 * The restore allow-list, `DELTAVAULT_RESTORE_TARGETS`: where a restore may write. A comma-
 * separated list; each entry is one of
 *
 *   restores                                   any blob in container `restores` of the vault account
 *   restores/vm1                               blobs under `vm1/` in that container
 *   https://acct.blob.core.windows.net/restores[/folder]
 *                                              the same, in another account (by its blob endpoint;
 *                                              path-style for the emulator:
 *                                              http://127.0.0.1:10000/devstoreaccount1/restores)
 *   /subscriptions/<id>/resourceGroups/<name>  new managed disks in that resource group
 *
 * Unset or empty: nothing is allowed, so every restore is refused until an operator names a
 * target. An entry may never name the vault container itself. A folder matches whole path
 * segments (`restores/vm1` admits `vm1/os.vhd`, not `vm10.vhd`), and a blob name with `.` or `..`
 * segments or a backslash is never admitted (a URL would resolve them out of the folder).
 */
import { checkServiceUrl, isPathStyleHost, isStorageName, normalizeServiceUrl } from './storageNames';

export type RestoreTarget =
  /** Page blobs in `container` of the account at `blobServiceUrl`, under `folder/` (`''`: anywhere). */
  | { kind: 'pageBlob'; blobServiceUrl: string; container: string; folder: string }
  /** New managed disks in a resource group. */
  | { kind: 'managedDisk'; subscriptionId: string; resourceGroup: string };

/** Where a restore request wants to write. */
export type RestoreDestination =
  | { kind: 'pageBlob'; blobServiceUrl: string; container: string; blob: string }
  | { kind: 'managedDisk'; subscriptionId: string; resourceGroup: string };

export interface ParsedRestoreTargets {
  targets: RestoreTarget[];
  /** What is wrong, entry by entry (1-based); never quoting an entry. */
  problems: string[];
}

const RESOURCE_GROUP = /^\/subscriptions\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/resourceGroups\/([-\w.()]{0,89}[-\w()])\/?$/i;

/**
 * Parses the allow-list. `vaultBlobServiceUrl` is what a bare container name refers to;
 * `vaultContainer` may not be named by any entry.
 */
export function parseRestoreTargets(value: string | undefined, vaultBlobServiceUrl: string, vaultContainer: string): ParsedRestoreTargets {
  const targets: RestoreTarget[] = [];
  const problems: string[] = [];
  if (value === undefined || value.trim() === '') return { targets, problems };
  const entries = value.split(',');
  entries.forEach((raw, i) => {
    const where = `entry ${i + 1} of ${entries.length}`;
    const entry = raw.trim();
    const parsed = parseEntry(entry, vaultBlobServiceUrl);
    if (typeof parsed === 'string') {
      problems.push(`${where} ${parsed}`);
      return;
    }
    if (parsed.kind === 'pageBlob' && parsed.blobServiceUrl === vaultBlobServiceUrl && parsed.container === vaultContainer) {
      problems.push(`${where} names the vault container: a restore must never write into the vault`);
      return;
    }
    targets.push(parsed);
  });
  return { targets, problems };
}

function parseEntry(entry: string, vaultBlobServiceUrl: string): RestoreTarget | string {
  if (entry === '') return 'is empty (remove the extra comma)';
  if (entry.startsWith('/')) {
    const m = RESOURCE_GROUP.exec(entry);
    if (!m) return 'starts with / but is not /subscriptions/<subscription id>/resourceGroups/<resource group>';
    return { kind: 'managedDisk', subscriptionId: (m[1] as string).toLowerCase(), resourceGroup: m[2] as string };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(entry)) {
    const checked = checkServiceUrl(entry, 'a blob container URL');
    if (!checked.ok) return checked.problem;
    const segments = checked.url.pathname.replace(/^\//, '').replace(/\/+$/, '').split('/');
    const account = isPathStyleHost(checked.url.hostname) ? segments.shift() : undefined;
    if (account === '' || (account !== undefined && segments.length === 0)) return 'is an emulator URL without an account name and container';
    const base = normalizeServiceUrl(new URL(account === undefined ? checked.url.origin : `${checked.url.origin}/${account}`));
    return pageBlobTarget(base, segments);
  }
  return pageBlobTarget(vaultBlobServiceUrl, entry.replace(/\/+$/, '').split('/'));
}

function pageBlobTarget(blobServiceUrl: string, segments: string[]): RestoreTarget | string {
  const [container, ...folder] = segments;
  if (container === undefined || !isStorageName(container)) {
    return 'does not name a container (3-63 lowercase letters, digits and single hyphens)';
  }
  if (!folder.every(isPlainSegment)) return 'has a folder with an empty, "." or ".." segment or a backslash';
  return { kind: 'pageBlob', blobServiceUrl, container, folder: folder.join('/') };
}

function isPlainSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !segment.includes('\\');
}

/** Whether the allow-list admits `destination`. */
export function isRestoreAllowed(targets: readonly RestoreTarget[], destination: RestoreDestination): boolean {
  if (destination.kind === 'managedDisk') {
    return targets.some(
      (t) =>
        t.kind === 'managedDisk' &&
        t.subscriptionId === destination.subscriptionId.toLowerCase() &&
        t.resourceGroup.toLowerCase() === destination.resourceGroup.toLowerCase(),
    );
  }
  const segments = destination.blob.split('/');
  if (!segments.every(isPlainSegment)) return false;
  return targets.some(
    (t) =>
      t.kind === 'pageBlob' &&
      t.blobServiceUrl === destination.blobServiceUrl &&
      t.container === destination.container &&
      (t.folder === '' || destination.blob.startsWith(`${t.folder}/`)),
  );
}
