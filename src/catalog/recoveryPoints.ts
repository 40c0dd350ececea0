/**
 * The catalog of a disk's recovery points: list (newest first), read one, delete one. A
 * recovery point exists exactly when its manifest does; deletion removes the manifest first
 * (so the point disappears from listings at once), then its hash list, then its vault snapshot.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { errors, isDeltavaultError } from '../errors';
import { readChain } from '../vault/chainState';
import { deleteBlobIfExists, readJson } from '../vault/jsonBlob';
import { Manifest, RecoveryPointSummary, manifestSchema, summarize } from '../vault/manifest';
import { VaultDisk } from '../vault/vaultDisk';
import { parseRecoveryPointId, vaultPaths } from '../vault/vaultLayout';

/** A recovery point whose manifest exists but cannot be read (damaged, or of an unknown version). */
export interface UnreadablePoint {
  id: string;
  /** The point's time, from its id. */
  createdAt: string;
  error: { code: string; message: string };
}

/** A disk's recovery points, newest first; throws MANIFEST_INVALID if any manifest cannot be read. */
export async function listRecoveryPoints(vault: VaultDisk): Promise<RecoveryPointSummary[]> {
  const { points, unreadable } = await listRecoveryPointsChecked(vault);
  if (unreadable[0]) throw errors.manifestInvalid(vaultPaths.manifest(vault.diskKey, unreadable[0].id), unreadable[0].error.message);
  return points;
}

/**
 * A disk's readable recovery points, newest first, and apart from them those whose manifest
 * cannot be read: one damaged manifest does not hide the others (a listing, a prune). Storage
 * failures are thrown.
 */
export async function listRecoveryPointsChecked(vault: VaultDisk): Promise<{ points: RecoveryPointSummary[]; unreadable: UnreadablePoint[] }> {
  const points: RecoveryPointSummary[] = [];
  const unreadable: UnreadablePoint[] = [];
  for (const id of await listRecoveryPointIds(vault)) {
    try {
      const found = await readJson(vault.container, vaultPaths.manifest(vault.diskKey, id), manifestSchema);
      if (found) points.push(summarize(found.value));
    } catch (e) {
      if (!isDeltavaultError(e, 'MANIFEST_INVALID')) throw e;
      unreadable.push({ id, createdAt: createdAtOf(id), error: { code: e.code, message: e.message } });
    }
  }
  return { points: points.sort(newestFirst), unreadable: unreadable.sort(newestFirst) };
}

/** Orders points (or anything with a `createdAt` ISO time) newest first. */
export function newestFirst<T extends { createdAt: string }>(a: T, b: T): number {
  return a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0;
}

function createdAtOf(id: string): string {
  try {
    return parseRecoveryPointId(id).createdAt.toISOString();
  } catch {
    return '';
  }
}

/** The ids of a disk's recovery points (those with a manifest), from one listing of names, unordered. */
export async function listRecoveryPointIds(vault: VaultDisk): Promise<string[]> {
  const prefix = vaultPaths.pointsPrefix(vault.diskKey);
  const ids: string[] = [];
  for await (const item of vault.container.listBlobsFlat({ prefix })) {
    if (item.name.endsWith('.json')) ids.push(item.name.slice(prefix.length, -'.json'.length));
  }
  return ids;
}

/**
 * The newest recovery point of a disk, or undefined when it has none. Recovery point ids sort by
 * time within a disk, so this lists names and reads one manifest.
 */
export async function newestRecoveryPoint(vault: VaultDisk): Promise<RecoveryPointSummary | undefined> {
  const ids = await listRecoveryPointIds(vault);
  ids.sort().reverse();
  for (const id of ids) {
    // A point deleted between the listing and the read is skipped: the next newest counts.
    const found = await readJson(vault.container, vaultPaths.manifest(vault.diskKey, id), manifestSchema);
    if (found) return summarize(found.value);
  }
  return undefined;
}

export async function readRecoveryPoint(container: ContainerClient, rpId: string): Promise<Manifest> {
  const { diskKey } = parseRecoveryPointId(rpId);
  const found = await readJson(container, vaultPaths.manifest(diskKey, rpId), manifestSchema);
  if (!found) throw errors.notFound('recovery point', rpId);
  return found.value;
}

export interface DeleteOptions {
  /** Allow deleting the chain head (the next backup is then a full one). */
  allowChainHead?: boolean;
}

/**
 * Deletes a recovery point: manifest first (it leaves listings at once), then its hash list,
 * then its vault snapshot. Safe to run again after a failure part-way: without a manifest it
 * still removes the hash list and any vault snapshot tagged with the point's id.
 */
export async function deleteRecoveryPoint(container: ContainerClient, rpId: string, options: DeleteOptions = {}): Promise<void> {
  const { diskKey } = parseRecoveryPointId(rpId);
  const vault = new VaultDisk(container, diskKey);
  const chain = await readChain(container, diskKey);
  if (!options.allowChainHead && chain.state.head?.recoveryPointId === rpId) {
    throw errors.chainBroken(diskKey, `recovery point ${rpId} is the newest one (the next backup's base) and is kept`);
  }
  const manifest = await readJson(container, vaultPaths.manifest(diskKey, rpId), manifestSchema);
  await deleteBlobIfExists(container, vaultPaths.manifest(diskKey, rpId));
  await deleteBlobIfExists(container, manifest?.value.blocks.blob ?? vaultPaths.blockHashes(diskKey, rpId));
  const snapshots = manifest ? [manifest.value.vault.snapshot] : await vault.snapshotsOf(rpId);
  if (!manifest && snapshots.length === 0) throw errors.notFound('recovery point', rpId);
  for (const snapshot of snapshots) {
    try {
      await vault.base.withSnapshot(snapshot).deleteIfExists();
    } catch (e) {
      throw errors.storage(`deleting the vault snapshot of ${rpId}`, e);
    }
  }
}

