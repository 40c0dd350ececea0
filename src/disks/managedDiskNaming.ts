/**
 * Names and tags of the incremental snapshots deltavault takes of a managed disk.
 *
 * The name is a pure function of the disk id and the job id, so a retried snapshot activity
 * finds (GET by name) the snapshot it already made instead of making a second one. Azure's rules
 * for a snapshot name: 1-80 characters, letters, digits, `_`, `.` and `-`, starting with a letter
 * or digit and ending with a letter, digit or `_`. The name is
 * `dv-<disk name, ≤ 24>-<job id, ≤ 32>-<12 hex of SHA-256(lower-case disk id, job id)>` (at most
 * 75 characters), readable in the portal and unique per disk and job whatever was cut off.
 *
 * Tags: `deltavault-job: <jobId>` and `deltavault-disk: <32 hex of SHA-256(lower-case disk id)>`
 * (a disk id can exceed the 256 characters a tag value may hold). `listSnapshots` also checks
 * `creationData.sourceResourceId`, so a copied tag alone never makes a snapshot "ours".
 */
import { createHash } from 'node:crypto';

export const JOB_TAG = 'deltavault-job';
export const DISK_TAG = 'deltavault-disk';
export const MAX_SNAPSHOT_NAME_LENGTH = 80;

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The value of the `deltavault-disk` tag for a disk id. */
export function diskTagValue(diskId: string): string {
  return sha256Hex(diskId.toLowerCase()).slice(0, 32);
}

function namePart(text: string, max: number): string {
  return text
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, max)
    .replace(/[^A-Za-z0-9_]+$/, '');
}

/** The deterministic snapshot name for `jobId` of the disk `diskId` (named `diskName`). */
export function snapshotNameFor(diskId: string, diskName: string, jobId: string): string {
  const hash = sha256Hex(`${diskId.toLowerCase()}\n${jobId}`).slice(0, 12);
  const parts = ['dv', namePart(diskName, 24), namePart(jobId, 32), hash].filter((p) => p.length > 0);
  return parts.join('-');
}

/** The tags a snapshot of `diskId` for `jobId` carries. */
export function snapshotTags(diskId: string, jobId: string): Record<string, string> {
  return { [JOB_TAG]: jobId, [DISK_TAG]: diskTagValue(diskId) };
}
