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
 *
 * Both rules are pointwise, so they are stated once, on the set of inputs that cover an offset
 * (`classifyDelta`, over the layers of `DELTA_LAYERS`): the planner applies them interval by
 * interval while it sweeps the range listings (chunkBuilder.ts), and `computeDelta` applies
 * them to whole lists.
 */
import { ByteRange, RangeList } from '../ranges/byteRange';
import { sweepLists } from '../ranges/layerSweep';

/** The planner's inputs, as layers of a sweep (bit i of a mask = layer i covers the offset). */
export const DELTA_LAYERS = {
  newAllocated: 0,
  baseAllocated: 1,
  previousAllocated: 2,
  reportedChanged: 3,
  reportedCleared: 4,
  /** The page whose block changes length after a resize: rehashed, never written for it. */
  resizedTail: 5,
} as const;
export const DELTA_LAYER_COUNT = 6;

const bit = (layer: number): number => 1 << layer;
const NEW = bit(DELTA_LAYERS.newAllocated);
const BASE = bit(DELTA_LAYERS.baseAllocated);
const PREV = bit(DELTA_LAYERS.previousAllocated);
const CHANGED = bit(DELTA_LAYERS.reportedChanged);
const CLEARED = bit(DELTA_LAYERS.reportedCleared);

export type DeltaClass = 'changed' | 'cleared' | undefined;

/** What an offset covered by the layers in `mask` needs: a write, a clear, or nothing. */
export function classifyDelta(mask: number, incremental: boolean): DeltaClass {
  if (!incremental) {
    if (mask & NEW) return 'changed';
    return mask & BASE ? 'cleared' : undefined;
  }
  if (mask & NEW) return mask & CHANGED ? 'changed' : undefined;
  return mask & (PREV | CLEARED | BASE) ? 'cleared' : undefined;
}

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

/** The delta of whole lists (each sorted by start), normalized and inside the disk. */
export function computeDelta(inputs: DeltaInputs): Delta {
  const layers: RangeList[] = new Array<RangeList>(DELTA_LAYER_COUNT).fill([]);
  layers[DELTA_LAYERS.newAllocated] = inputs.newAllocated;
  layers[DELTA_LAYERS.baseAllocated] = inputs.baseAllocated;
  if (inputs.previous) {
    layers[DELTA_LAYERS.previousAllocated] = inputs.previous.allocated;
    layers[DELTA_LAYERS.reportedChanged] = inputs.previous.reportedChanged;
    layers[DELTA_LAYERS.reportedCleared] = inputs.previous.reportedCleared;
  }
  const delta: Delta = { changed: [], cleared: [] };
  sweepLists(layers, (start, end, mask) => {
    const kind = classifyDelta(mask, inputs.previous !== undefined);
    const clippedEnd = Math.min(end, inputs.sizeBytes);
    if (kind && start < clippedEnd) appendAdjacent(delta[kind], start, clippedEnd);
  });
  return delta;
}

/** Appends [start, end) (never before the list's last range), merging it into an adjacent last range. */
export function appendAdjacent(list: ByteRange[], start: number, end: number): void {
  const last = list[list.length - 1];
  if (last && last.end === start) list[list.length - 1] = { start: last.start, end };
  else list.push({ start, end });
}
