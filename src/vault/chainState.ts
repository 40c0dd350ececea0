/**
 * The head of a disk's backup chain: the last sealed recovery point and the source snapshot it
 * was taken from (the next job's diff base). Advanced only with ETag-conditional writes, after
 * the manifest exists.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { errors, storageStatus } from '../errors';
import { readJson, writeJson } from './jsonBlob';
import { vaultPaths } from './vaultLayout';

export const CHAIN_VERSION = 1;

export const chainHeadSchema = z
  .object({
    recoveryPointId: z.string().min(1),
    sourceSnapshotId: z.string().min(1),
    sourceCreatedAt: z.iso.datetime(),
    sizeBytes: z.number().int().nonnegative(),
    /** ETag of the base blob right after this point was sealed: while it is unchanged, the base
     *  still holds exactly this recovery point's bytes. Absent when not known. */
    baseEtag: z.string().optional(),
  })
  .strict();

export const chainStateSchema = z
  .object({
    version: z.literal(CHAIN_VERSION),
    diskKey: z.string().min(1),
    head: chainHeadSchema.nullable(),
    updatedAt: z.iso.datetime(),
  })
  .strict();

export type ChainHead = z.infer<typeof chainHeadSchema>;
export type ChainState = z.infer<typeof chainStateSchema>;

/** The chain and the ETag to condition the next write on (`undefined`: no chain yet). */
export interface ChainSnapshot {
  state: ChainState;
  etag: string | undefined;
}

export async function readChain(container: ContainerClient, diskKey: string): Promise<ChainSnapshot> {
  const found = await readJson(container, vaultPaths.chain(diskKey), chainStateSchema);
  if (!found) return { state: { version: CHAIN_VERSION, diskKey, head: null, updatedAt: new Date(0).toISOString() }, etag: undefined };
  return { state: found.value, etag: found.etag };
}

/**
 * Moves the head to `head` if nobody changed the chain since `expectedEtag` was read.
 * Idempotent: when the head already is `head` (a retried seal), it succeeds without writing.
 */
export async function advanceChain(
  container: ContainerClient,
  diskKey: string,
  expectedEtag: string | undefined,
  head: ChainHead,
  now: Date,
): Promise<void> {
  const state: ChainState = { version: CHAIN_VERSION, diskKey, head, updatedAt: now.toISOString() };
  try {
    await writeJson(container, vaultPaths.chain(diskKey), state, expectedEtag ? { ifMatch: expectedEtag } : { ifNoneMatch: '*' });
  } catch (e) {
    const status = storageStatus(e);
    if (status !== 412 && status !== 409) throw errors.storage(`advancing the chain of ${diskKey}`, e);
    const current = await readChain(container, diskKey);
    if (current.state.head?.recoveryPointId === head.recoveryPointId) return;
    throw errors.chainConflict(diskKey, e);
  }
}
