/**
 * The recovery point manifest: versioned, validated on every read, and refused when its
 * version is unknown (a newer deltavault wrote it). Written after the vault snapshot and the
 * block-hash list, so a manifest that exists always describes complete data.
 */
import { z } from 'zod';

export const MANIFEST_VERSION = 1;

const isoDate = z.iso.datetime();
const nonNegative = z.number().int().nonnegative();

export const manifestSchema = z
  .object({
    version: z.literal(MANIFEST_VERSION, { error: (issue) => `unknown manifest version ${JSON.stringify(issue.input) ?? '(none)'} (this deltavault reads version ${MANIFEST_VERSION})` }),
    id: z.string().min(1),
    diskKey: z.string().min(1),
    jobId: z.string().min(1),
    mode: z.enum(['full', 'incremental']),
    previousRecoveryPointId: z.string().nullable(),
    source: z.object({
      kind: z.enum(['pageBlob', 'managedDisk']),
      description: z.string(),
      snapshotId: z.string().min(1),
      createdAt: isoDate,
    }),
    vault: z.object({ baseBlob: z.string().min(1), snapshot: z.string().min(1) }),
    sizeBytes: nonNegative,
    createdAt: isoDate,
    sealedAt: isoDate,
    bytes: z.object({
      allocated: nonNegative,
      changed: nonNegative,
      cleared: nonNegative,
      transferred: nonNegative,
    }),
    blocks: z.object({
      sizeBytes: z.number().int().positive(),
      count: nonNegative,
      blob: z.string().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
    }),
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;

/** What listings show: everything but where the hashes live. */
export type RecoveryPointSummary = Omit<Manifest, 'blocks'> & { blocks: { sizeBytes: number; count: number } };

/** What the manifest promises about its block-hash list, for the reader to check. */
export function hashListExpectation(manifest: Manifest): { blockBytes: number; sha256: string; count: number; blockCount: number } {
  return {
    blockBytes: manifest.blocks.sizeBytes,
    sha256: manifest.blocks.sha256,
    count: manifest.blocks.count,
    blockCount: Math.ceil(manifest.sizeBytes / manifest.blocks.sizeBytes),
  };
}

export function summarize(manifest: Manifest): RecoveryPointSummary {
  return { ...manifest, blocks: { sizeBytes: manifest.blocks.sizeBytes, count: manifest.blocks.count } };
}
