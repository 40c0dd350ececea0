/**
 * A sweep over several range lists at once, in offset order, in memory independent of their
 * length: each input (a *layer*, numbered 0–30) is a stream of ranges sorted by start, and the
 * sweep reports the disjoint intervals of the union together with the set of layers (a bit
 * mask) that covers each one. Whatever a planner derives pointwise from its inputs (changed =
 * diff ∩ allocated, cleared = previous − allocated, …) it can then derive interval by interval,
 * without ever holding a whole list.
 *
 * Inputs may overlap within a layer (they need not be normalized); only their starts must not
 * decrease. The sweep holds the ends of the ranges still open, so its memory is the number of
 * ranges covering one offset — one per layer for normalized lists.
 */
import { errors } from '../errors';
import type { ByteRange, RangeList } from './byteRange';

export const MAX_LAYERS = 31;

export interface LayerRange extends ByteRange {
  readonly layer: number;
}

/** Receives the intervals in ascending order; adjacent intervals always differ in mask; mask ≠ 0. */
export type IntervalSink = (start: number, end: number, mask: number) => void;

/** The sweep itself: feed it ranges in non-decreasing start order, then `finish()`. */
export class LayerSweep {
  private readonly counts: number[];
  private mask = 0;
  /** Start of what has not been reported yet; every open range ends after it. */
  private pos = 0;
  private lastStart = 0;
  /** Min-heap of the open ranges' ends, with their layers alongside. */
  private readonly ends: number[] = [];
  private readonly endLayers: number[] = [];
  private pending: { start: number; end: number; mask: number } | undefined;

  constructor(
    layers: number,
    private readonly sink: IntervalSink,
  ) {
    if (!Number.isInteger(layers) || layers < 1 || layers > MAX_LAYERS) throw new RangeError(`layers must be 1–${MAX_LAYERS}, got ${layers}`);
    this.counts = new Array<number>(layers).fill(0);
  }

  /** Adds a range; `what` names its input in the error when it starts before the previous one. */
  add(range: LayerRange, what = `layer ${range.layer}`): void {
    const { start, end, layer } = range;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
      throw errors.invalidRange(`${what}: range [${start}, ${end}) is not a range of non-negative offsets`, { what, start, end });
    }
    if (start < this.lastStart) {
      throw errors.invalidRange(`${what}: range [${start}, ${end}) starts before a range already read (at ${this.lastStart}); a range listing must be in offset order`, {
        what,
        start,
        end,
      });
    }
    if (!(layer >= 0 && layer < this.counts.length && Number.isInteger(layer))) throw new RangeError(`no layer ${layer}`);
    this.lastStart = start;
    if (end === start) return;
    this.advance(start);
    if ((this.counts[layer] as number) === 0) this.mask |= 1 << layer;
    this.counts[layer] = (this.counts[layer] as number) + 1;
    this.push(end, layer);
  }

  /** Reports everything that is still open and flushes the last interval. */
  finish(): void {
    while (this.ends.length > 0) this.closeAt(this.ends[0] as number);
    this.flush();
  }

  /** Nothing that starts before `offset` is still to come: report up to it. */
  private advance(offset: number): void {
    while (this.ends.length > 0 && (this.ends[0] as number) <= offset) this.closeAt(this.ends[0] as number);
    if (offset > this.pos) {
      this.emit(this.pos, offset);
      this.pos = offset;
    }
  }

  /** Reports up to `end`, the smallest open end, and closes every range that ends there. */
  private closeAt(end: number): void {
    this.emit(this.pos, end);
    this.pos = end;
    while (this.ends.length > 0 && this.ends[0] === end) {
      const layer = this.pop();
      const left = (this.counts[layer] as number) - 1;
      this.counts[layer] = left;
      if (left === 0) this.mask &= ~(1 << layer);
    }
  }

  private emit(start: number, end: number): void {
    if (this.mask === 0 || end <= start) return;
    const p = this.pending;
    if (p && p.end === start && p.mask === this.mask) {
      p.end = end;
      return;
    }
    this.flush();
    this.pending = { start, end, mask: this.mask };
  }

  private flush(): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) this.sink(p.start, p.end, p.mask);
  }

  private push(end: number, layer: number): void {
    const { ends, endLayers } = this;
    let i = ends.length;
    ends.push(end);
    endLayers.push(layer);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((ends[parent] as number) <= end) break;
      ends[i] = ends[parent] as number;
      endLayers[i] = endLayers[parent] as number;
      i = parent;
    }
    ends[i] = end;
    endLayers[i] = layer;
  }

  private pop(): number {
    const { ends, endLayers } = this;
    const top = endLayers[0] as number;
    const lastEnd = ends.pop() as number;
    const lastLayer = endLayers.pop() as number;
    const n = ends.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (ends[r] as number) < (ends[l] as number) ? r : l;
      if ((ends[c] as number) >= lastEnd) break;
      ends[i] = ends[c] as number;
      endLayers[i] = endLayers[c] as number;
      i = c;
    }
    ends[i] = lastEnd;
    endLayers[i] = lastLayer;
    return top;
  }
}

/** Sweeps in-memory lists (layer i = lists[i]), each sorted by start. */
export function sweepLists(lists: readonly RangeList[], sink: IntervalSink): void {
  const sweep = new LayerSweep(Math.max(1, lists.length), sink);
  const at = lists.map(() => 0);
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const r = (lists[i] as RangeList)[at[i] as number];
      if (r && (best < 0 || r.start < ((lists[best] as RangeList)[at[best] as number] as ByteRange).start)) best = i;
    }
    if (best < 0) break;
    const r = (lists[best] as RangeList)[at[best] as number] as ByteRange;
    at[best] = (at[best] as number) + 1;
    sweep.add({ start: r.start, end: r.end, layer: best }, `list ${best}`);
  }
  sweep.finish();
}

/** An input of `sweepStreams`: pages of ranges (each sorted by start, pages in order), and a name for errors. */
export interface LayerStream {
  readonly what: string;
  readonly pages: AsyncIterable<readonly LayerRange[]>;
}

/**
 * Sweeps streams of pages, each sorted by start (a storage listing, page by page). The next
 * page of every stream is asked for as soon as its current one is taken, so listings proceed in
 * parallel. Yields after each page has been swept, so the caller can drain what its sink
 * gathered before more is read; the last interval reaches the sink before it returns. Every
 * stream is closed when the sweep ends, however it ends (also when the caller stops early).
 */
export async function* sweepStreams(layers: number, streams: readonly LayerStream[], sink: IntervalSink): AsyncGenerator<void, void, undefined> {
  const sweep = new LayerSweep(layers, sink);
  const iterators = streams.map((s) => s.pages[Symbol.asyncIterator]());
  const state = streams.map(() => ({ page: [] as readonly LayerRange[], at: 0, done: false }));
  // One read ahead per stream; a failure is kept until that page is needed.
  const ahead: Array<Promise<IteratorResult<readonly LayerRange[]>> | undefined> = iterators.map((it) => it.next());
  for (const p of ahead) p?.catch(() => undefined);
  async function fill(i: number): Promise<void> {
    const s = state[i] as (typeof state)[number];
    while (!s.done && s.at >= s.page.length) {
      const step = await (ahead[i] as Promise<IteratorResult<readonly LayerRange[]>>);
      if (step.done) {
        s.done = true;
        ahead[i] = undefined;
        return;
      }
      s.page = step.value;
      s.at = 0;
      const next = (iterators[i] as AsyncIterator<readonly LayerRange[]>).next();
      next.catch(() => undefined);
      ahead[i] = next;
    }
  }
  try {
    await Promise.all(streams.map((_, i) => fill(i)));
    for (;;) {
      let best = -1;
      let bestStart = 0;
      for (let i = 0; i < state.length; i++) {
        const s = state[i] as (typeof state)[number];
        if (s.done) continue;
        const start = (s.page[s.at] as LayerRange).start;
        if (best < 0 || start < bestStart) {
          best = i;
          bestStart = start;
        }
      }
      if (best < 0) break;
      const s = state[best] as (typeof state)[number];
      const what = (streams[best] as LayerStream).what;
      const r = s.page[s.at] as LayerRange;
      // The merge takes the smallest head, so a stream that goes back is the one `add` refuses.
      sweep.add(r, what);
      s.at++;
      if (s.at >= s.page.length) {
        await fill(best);
        yield;
      }
    }
    sweep.finish();
  } finally {
    await Promise.all(iterators.map((it) => Promise.resolve(it.return?.()).catch(() => undefined)));
  }
}
