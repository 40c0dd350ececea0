/**
 * Which job owns a disk's vault base blob: the one that last planned against it, named in the
 * base's metadata (`WRITER_METADATA_KEY`). Leases are held per step and lapse between steps
 * (docs/design.md, known gaps), so the lease alone cannot tell two jobs that planned against the
 * same head apart; the mark can. A plan claims the base under its lease; copy and seal check,
 * under theirs, that the base is still their job's before they write or snapshot it, and a job
 * whose base was taken over stops with CHAIN_CONFLICT instead of mixing its writes with another's.
 */
import type { PageBlobClient } from '@azure/storage-blob';
import { errors } from '../errors';
import { WRITER_METADATA_KEY } from './vaultLayout';

/** Marks `jobId` as the base's writer, keeping the base's other metadata (under the job's lease). */
export async function claimBase(base: PageBlobClient, diskKey: string, jobId: string, leaseId: string, metadata: Record<string, string> | undefined): Promise<void> {
  try {
    await base.setMetadata({ ...metadata, [WRITER_METADATA_KEY]: jobId }, { conditions: { leaseId } });
  } catch (e) {
    throw errors.storage(`marking job ${jobId} as the writer of the vault base blob of ${diskKey}`, e);
  }
}

/** Throws CHAIN_CONFLICT unless the base (its properties, read under the lease) is `jobId`'s. */
export function assertBaseWriter(properties: { metadata?: Record<string, string> }, diskKey: string, jobId: string): void {
  const writer = properties.metadata?.[WRITER_METADATA_KEY];
  if (writer !== jobId) throw errors.baseTakenOver(diskKey, jobId, writer);
}
