/**
 * Azure's limits on snapshots of one managed disk, enforced so that client code that breaks them
 * fails here the way it fails in Azure (409 `OperationNotAllowed`):
 * - at most 5 snapshots of one disk with access granted at the same time;
 * - at most 7 incremental snapshots of one disk created per 5 minutes;
 * - at most 500 incremental snapshots of one disk in all.
 * The window's clock and every number are injectable, so tests need not wait five minutes.
 */
import { armErrors } from './armErrors';

export interface ArmLimits {
  readonly maxGrantedSnapshotsPerDisk: number;
  readonly incrementalSnapshotsPerWindow: number;
  readonly incrementalSnapshotWindowMs: number;
  readonly maxIncrementalSnapshotsPerDisk: number;
  /** Snapshots taken with the disk's size on the two sides of this are not diffed (4 TiB). */
  readonly diffSizeBoundaryBytes: number;
}

export const AZURE_LIMITS: ArmLimits = {
  maxGrantedSnapshotsPerDisk: 5,
  incrementalSnapshotsPerWindow: 7,
  incrementalSnapshotWindowMs: 5 * 60_000,
  maxIncrementalSnapshotsPerDisk: 500,
  diffSizeBoundaryBytes: 4 * 1024 ** 4,
};

export class SnapshotLimits {
  private readonly created = new Map<string, number[]>();

  constructor(
    readonly limits: ArmLimits,
    private readonly now: () => number,
  ) {}

  /** Throws if one more incremental snapshot of the disk may not be created now; else counts it. */
  admitIncrementalSnapshot(diskUniqueId: string, diskName: string, existingIncrementalSnapshots: number): void {
    if (existingIncrementalSnapshots >= this.limits.maxIncrementalSnapshotsPerDisk) {
      throw armErrors.operationNotAllowed(
        `Disk '${diskName}' already has ${existingIncrementalSnapshots} incremental snapshots; at most ${this.limits.maxIncrementalSnapshotsPerDisk} are allowed per disk. Delete older snapshots first.`,
      );
    }
    const now = this.now();
    const recent = (this.created.get(diskUniqueId) ?? []).filter((t) => now - t < this.limits.incrementalSnapshotWindowMs);
    if (recent.length >= this.limits.incrementalSnapshotsPerWindow) {
      throw armErrors.operationNotAllowed(
        `At most ${this.limits.incrementalSnapshotsPerWindow} incremental snapshots of disk '${diskName}' can be created per ${this.limits.incrementalSnapshotWindowMs / 1000} seconds. Retry later.`,
      );
    }
    recent.push(now);
    this.created.set(diskUniqueId, recent);
  }

  /** Throws if one more snapshot of the disk may not have access granted now. */
  admitSnapshotGrant(diskName: string, snapshotsWithAccess: number): void {
    if (snapshotsWithAccess >= this.limits.maxGrantedSnapshotsPerDisk) {
      throw armErrors.operationNotAllowed(
        `At most ${this.limits.maxGrantedSnapshotsPerDisk} snapshots of disk '${diskName}' can have access granted at the same time; revoke access to one of them first.`,
      );
    }
  }
}
