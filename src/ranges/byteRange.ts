/**
 * Pure range algebra over byte offsets. Range lists describe which parts of a disk hold data
 * or changed between snapshots; they can have millions of entries, so every set operation here
 * is a linear merge over normalized lists and nothing ever materializes a bitmap.
 */
import { errors } from '../errors';

/** Half-open byte interval [start, end). Offsets are safe integers (disks up to 64 TiB). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * A list of ranges. "Normalized" = sorted by start, no empty ranges, no overlaps and no
 * adjacency (for consecutive a, b: a.end < b.start strictly).
 */
export type RangeList = readonly ByteRange[];

/** Azure page blobs are written and reported in 512-byte pages. */
export const PAGE_BYTES = 512;

function describe(r: ByteRange): string {
  return `[${String(r.start)}, ${String(r.end)})`;
}

function isOffset(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Why a single range is unusable (as input to normalize), or undefined when it is fine. */
function rangeProblem(r: ByteRange): string | undefined {
  if (!isOffset(r.start) || !isOffset(r.end)) {
    return `range ${describe(r)} has an offset that is not a non-negative safe integer`;
  }
  if (r.start > r.end) return `range ${describe(r)} has start > end`;
  return undefined;
}

/** Why a list is not normalized (naming the first offending entry), or undefined when it is. */
function normalizationProblem(a: RangeList): string | undefined {
  let prevEnd = -1;
  for (let i = 0; i < a.length; i++) {
    const r = a[i] as ByteRange;
    const bad = rangeProblem(r);
    if (bad !== undefined) return `entry ${String(i)}: ${bad}`;
    if (r.start === r.end) return `entry ${String(i)}: range ${describe(r)} is empty`;
    if (r.start <= prevEnd) {
      return (
        `entry ${String(i)}: range ${describe(r)} is not strictly after the previous range ` +
        `(which ends at ${String(prevEnd)}); ranges must be sorted, non-overlapping and non-adjacent`
      );
    }
    prevEnd = r.end;
  }
  return undefined;
}

/** Throws invalidRange unless `a` is normalized. O(n). */
export function assertNormalized(a: RangeList, what: string): void {
  const problem = normalizationProblem(a);
  if (problem !== undefined) {
    throw errors.invalidRange(`${what} is not a normalized range list: ${problem}`, { what });
  }
}

/** Throws invalidRange unless both operands of set operation `op` are normalized. */
function assertOperands(op: string, a: RangeList, b: RangeList): void {
  assertNormalized(a, `${op}: left operand`);
  assertNormalized(b, `${op}: right operand`);
}

/** True when `a` is normalized (valid safe-integer offsets, sorted, non-empty, non-overlapping, non-adjacent). */
export function isNormalized(a: RangeList): boolean {
  return normalizationProblem(a) === undefined;
}

/** A range this module builds itself and may still widen before handing it out. */
interface MutableRange {
  start: number;
  end: number;
}

/**
 * Appends non-empty `r` to `out`, a normalized list built in start order (r.start is not before
 * the last range's start): widens the last range when r overlaps or touches it, else adds a copy.
 * The one merge step of normalize and union, so both coalesce exactly alike.
 */
function appendMerging(out: MutableRange[], r: ByteRange): void {
  const last = out[out.length - 1];
  if (last !== undefined && last.end >= r.start) {
    if (r.end > last.end) last.end = r.end;
  } else {
    out.push({ start: r.start, end: r.end });
  }
}

/**
 * Normalizes ranges given in any order and with any overlap: sorts, merges overlapping and
 * adjacent ranges and drops empty ones (start == end). Throws invalidRange for a range with
 * start > end or an offset that is negative, fractional or not a safe integer.
 */
export function normalize(ranges: Iterable<ByteRange>): ByteRange[] {
  const items: ByteRange[] = [];
  let sorted = true;
  let lastStart = -1;
  for (const r of ranges) {
    const bad = rangeProblem(r);
    if (bad !== undefined) throw errors.invalidRange(`cannot normalize: ${bad}`, { start: r.start, end: r.end });
    if (r.start === r.end) continue;
    if (r.start < lastStart) sorted = false;
    lastStart = r.start;
    items.push(r);
  }
  if (!sorted) items.sort((x, y) => x.start - y.start);
  const out: MutableRange[] = [];
  for (const r of items) appendMerging(out, r);
  return out;
}

/** a ∪ b. Inputs must be normalized (checked); output is normalized. Linear time. */
export function union(a: RangeList, b: RangeList): ByteRange[] {
  assertOperands('union', a, b);
  const out: MutableRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.start <= y.start)) {
      appendMerging(out, x as ByteRange);
      i++;
    } else {
      appendMerging(out, y);
      j++;
    }
  }
  return out;
}

/** a − b (the bytes of a that are not in b). Inputs must be normalized (checked). Linear time. */
export function subtract(a: RangeList, b: RangeList): ByteRange[] {
  assertOperands('subtract', a, b);
  const out: ByteRange[] = [];
  let j = 0;
  for (const r of a) {
    let s = r.start;
    // Skip b ranges that end before this range begins.
    while (j < b.length && (b[j] as ByteRange).end <= s) j++;
    let k = j;
    while (k < b.length) {
      const cut = b[k] as ByteRange;
      if (cut.start >= r.end) break;
      if (cut.start > s) out.push({ start: s, end: cut.start });
      if (cut.end > s) s = cut.end;
      if (s >= r.end) break; // cut may reach into later ranges of a: keep it (do not advance k)
      k++;
    }
    if (s < r.end) out.push({ start: s, end: r.end });
    j = k;
  }
  return out;
}

/** a ∩ b. Inputs must be normalized (checked); output is normalized. Linear time. */
export function intersect(a: RangeList, b: RangeList): ByteRange[] {
  assertOperands('intersect', a, b);
  const out: ByteRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as ByteRange;
    const y = b[j] as ByteRange;
    const lo = x.start > y.start ? x.start : y.start;
    const hi = x.end < y.end ? x.end : y.end;
    if (lo < hi) out.push({ start: lo, end: hi });
    if (x.end < y.end) i++;
    else if (y.end < x.end) j++;
    else {
      i++;
      j++;
    }
  }
  return out;
}

/** Sum of the lengths of the ranges in `a`. */
export function totalBytes(a: RangeList): number {
  let total = 0;
  for (const r of a) total += r.end - r.start;
  return total;
}

/**
 * Throws invalidRange naming `what` and the first offending range if any start or end is not a
 * multiple of PAGE_BYTES (512).
 */
export function assertPageAligned(a: RangeList, what: string): void {
  for (let i = 0; i < a.length; i++) {
    const r = a[i] as ByteRange;
    if (r.start % PAGE_BYTES !== 0 || r.end % PAGE_BYTES !== 0) {
      throw errors.invalidRange(
        `${what}: range ${describe(r)} (entry ${String(i)}) is not aligned to ${String(PAGE_BYTES)}-byte pages`,
        { what, index: i, start: r.start, end: r.end },
      );
    }
  }
}

/**
 * The part of normalized list `a` inside the window [start, end). Binary-searches to the first
 * range that reaches past `start`, so the cost is O(log n + k) for k ranges returned; for that
 * reason `a` itself is not re-validated. Throws invalidRange for a bad window (start > end,
 * negative or non-integer offsets); an empty window gives [].
 */
export function clip(a: RangeList, start: number, end: number): ByteRange[] {
  if (!isOffset(start) || !isOffset(end)) {
    throw errors.invalidRange(
      `clip: window [${String(start)}, ${String(end)}) has an offset that is not a non-negative safe integer`,
      { start, end },
    );
  }
  if (start > end) {
    throw errors.invalidRange(`clip: window [${String(start)}, ${String(end)}) has start > end`, { start, end });
  }
  const out: ByteRange[] = [];
  if (start === end) return out;
  // First index whose range ends after `start`.
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as ByteRange).end <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < a.length; i++) {
    const r = a[i] as ByteRange;
    if (r.start >= end) break;
    out.push({ start: r.start > start ? r.start : start, end: r.end < end ? r.end : end });
  }
  return out;
}

/**
 * Converts an Azure SDK page range given as {offset, count}, where `count` is the INCLUSIVE end
 * offset minus `offset` (the range covers bytes offset..offset+count inclusive), to a half-open
 * ByteRange [offset, offset + count + 1).
 */
export function fromInclusive(offset: number, count: number): ByteRange {
  if (!isOffset(offset) || !isOffset(count) || !Number.isSafeInteger(offset + count + 1)) {
    throw errors.invalidRange(
      `inclusive page range (offset ${String(offset)}, count ${String(count)}) is not made of non-negative safe integers`,
      { offset, count },
    );
  }
  return { start: offset, end: offset + count + 1 };
}
