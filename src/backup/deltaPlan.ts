/**
 * What a backup must write and clear in the vault base blob (pure).
 *
 * The diff a storage service reports is never trusted alone for cleared pages: the emulator
 * lists every valid range and no cleared range, and services may report coarse ranges. So:
 *   changed = reported changes ∩ allocated(new)
 *   cleared = (allocated(prev) − allocated(new)) ∪ reported clears ∪ (allocated(base) − allocated(new))
 * The last term repairs pages that a failed earlier job wrote into the base and that are
 * empty again now. A first (full) backup writes every allocated range of the new snapshot and
 * clears whatever else the base holds.
 */
import { ByteRange, RangeList, intersect, subtract, union } from '../ranges/byteRange';

export interface DeltaInputs {
  sizeBytes: number;
  newAllocated: RangeList;
  baseAllocated: RangeList;
  /** Absent for a full backup. */
  previous?: {
    allocated: RangeList;
    reportedChanged: RangeList;
    reportedCleared: RangeList;
  };
}

export interface Delta {
  changed: ByteRange[];
  cleared: ByteRange[];
}

export function computeDelta(inputs: DeltaInputs): Delta {
  const disk = [{ start: 0, end: inputs.sizeBytes }];
  const allocated = intersect(inputs.newAllocated, disk);
  const staleInBase = subtract(intersect(inputs.baseAllocated, disk), allocated);
  if (!inputs.previous) return { changed: allocated, cleared: staleInBase };
  const { previous } = inputs;
  const changed = intersect(previous.reportedChanged, allocated);
  const freedSincePrevious = subtract(intersect(previous.allocated, disk), allocated);
  const reportedClears = subtract(intersect(previous.reportedCleared, disk), allocated);
  return { changed, cleared: union(union(freedSincePrevious, reportedClears), staleInBase) };
}
