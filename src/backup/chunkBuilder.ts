/**
 * Cuts a plan into chunks while the planner sweeps the range listings, so no whole list is
 * ever held: it takes the sweep's intervals (offset order, each with the set of inputs that
 * cover it, see deltaPlan.ts), classifies them, gathers one 4 MiB window at a time (the copy
 * moves whole windows), and hands out a chunk's ranges as soon as the chunk is full.
 *
 * Chunks are runs of touched windows (a window holding a changed, cleared or resized-tail
 * byte), filled greedily: a chunk closes before a window that would exceed its budget of
 * windows, a new run of windows beyond `maxWindowRanges`, or `maxDocumentRanges` ranges in its
 * document (so the copy that reads it stays small too). A chunk's ranges lie inside its touched
 * blocks: changed and cleared ranges, and the new snapshot's and the base's allocated ranges
 * clipped to those blocks.
 */
import type { ByteRange } from '../ranges/byteRange';
import { DEFAULT_MAX_RANGES_PER_CHUNK } from '../ranges/writePlanning';
import { WINDOW_BYTES } from '../vault/vaultLayout';
import { appendAdjacent, classifyDelta, DELTA_LAYERS, type DeltaClass } from './deltaPlan';

/** A chunk document's range lists stay below this (a single window's may exceed it alone). */
export const DEFAULT_MAX_DOCUMENT_RANGES = 200_000;

export interface ChunkBuilderOptions {
  sizeBytes: number;
  blockBytes: number;
  budgetBytes: number;
  incremental: boolean;
  maxWindowRanges?: number;
  maxDocumentRanges?: number;
}

/** One chunk's ranges: `blocks` are block-index ranges, the rest byte ranges; all normalized. */
export interface ChunkDraft {
  index: number;
  blocks: ByteRange[];
  changed: ByteRange[];
  cleared: ByteRange[];
  allocated: ByteRange[];
  baseAllocated: ByteRange[];
}

export interface ChunkSummary {
  index: number;
  blocks: number;
  bytes: number;
}

interface Piece {
  start: number;
  end: number;
  mask: number;
  kind: DeltaClass;
  touching: boolean;
}

const NEW = 1 << DELTA_LAYERS.newAllocated;
const BASE = 1 << DELTA_LAYERS.baseAllocated;
const TAIL = 1 << DELTA_LAYERS.resizedTail;

export class ChunkBuilder {
  readonly totals = { allocated: 0, changed: 0, cleared: 0 };
  readonly chunks: ChunkSummary[] = [];
  private ready: ChunkDraft[] = [];
  private readonly capacity: number;
  private readonly maxWindowRanges: number;
  private readonly maxDocumentRanges: number;
  private window = -1;
  private pieces: Piece[] = [];
  private current = emptyDraft(0);
  private windows = 0;
  private windowRanges = 0;
  private blockCount = 0;
  private lastWindow = -2;
  private finished = false;

  constructor(private readonly options: ChunkBuilderOptions) {
    this.capacity = Math.max(1, Math.floor(options.budgetBytes / WINDOW_BYTES));
    this.maxWindowRanges = options.maxWindowRanges ?? DEFAULT_MAX_RANGES_PER_CHUNK;
    this.maxDocumentRanges = options.maxDocumentRanges ?? DEFAULT_MAX_DOCUMENT_RANGES;
  }

  /** Takes the sweep's next interval (ascending, disjoint). */
  readonly interval = (start: number, intervalEnd: number, mask: number): void => {
    const end = Math.min(intervalEnd, this.options.sizeBytes);
    if (start >= end) return;
    const kind = classifyDelta(mask, this.options.incremental);
    if (mask & NEW) this.totals.allocated += end - start;
    if (kind) this.totals[kind] += end - start;
    const touching = kind !== undefined || (mask & TAIL) !== 0;
    let s = start;
    while (s < end) {
      const w = Math.floor(s / WINDOW_BYTES);
      if (w !== this.window) {
        this.closeWindow();
        this.window = w;
      }
      const pieceEnd = Math.min(end, (w + 1) * WINDOW_BYTES);
      this.pieces.push({ start: s, end: pieceEnd, mask, kind, touching });
      s = pieceEnd;
      // Whole windows covered by an interval that touches nothing hold nothing to copy.
      if (!touching && s < end) {
        const lastWindow = Math.floor((end - 1) / WINDOW_BYTES);
        if (lastWindow * WINDOW_BYTES > s) s = lastWindow * WINDOW_BYTES;
      }
    }
  };

  /** The chunks completed since the last call, in order. */
  takeReady(): ChunkDraft[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  /** After the last interval: closes the last window and chunk. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.closeWindow();
    this.closeChunk();
  }

  private closeWindow(): void {
    const pieces = this.pieces;
    this.pieces = [];
    if (pieces.length === 0) return;
    const { blockBytes, sizeBytes } = this.options;
    // The window's touched blocks, as block-index ranges and as byte spans.
    const blocks: ByteRange[] = [];
    for (const p of pieces) {
      if (!p.touching) continue;
      const first = Math.floor(p.start / blockBytes);
      const after = Math.floor((p.end - 1) / blockBytes) + 1;
      const last = blocks[blocks.length - 1];
      if (last && last.end >= first) {
        if (after > last.end) blocks[blocks.length - 1] = { start: last.start, end: after };
      } else blocks.push({ start: first, end: after });
    }
    if (blocks.length === 0) return;
    const spans = blocks.map((b) => ({ start: b.start * blockBytes, end: Math.min(b.end * blockBytes, sizeBytes) }));
    // The window's share of the chunk document.
    const part = emptyDraft(0);
    part.blocks = blocks;
    let at = 0;
    for (const p of pieces) {
      if (p.kind) appendAdjacent(part[p.kind], p.start, p.end);
      if ((p.mask & (NEW | BASE)) === 0) continue;
      // Clip to the touched spans (both ascending).
      while (at < spans.length && (spans[at] as ByteRange).end <= p.start) at++;
      for (let i = at; i < spans.length && (spans[i] as ByteRange).start < p.end; i++) {
        const span = spans[i] as ByteRange;
        const from = Math.max(p.start, span.start);
        const to = Math.min(p.end, span.end);
        if (from >= to) continue;
        if (p.mask & NEW) appendAdjacent(part.allocated, from, to);
        if (p.mask & BASE) appendAdjacent(part.baseAllocated, from, to);
      }
    }
    const w = this.window;
    const adjacent = this.windows > 0 && this.lastWindow === w - 1;
    if (this.windows === this.capacity || (!adjacent && this.windowRanges === this.maxWindowRanges)) this.closeChunk();
    else if (this.windows > 0 && documentRanges(this.current) + documentRanges(part) > this.maxDocumentRanges) this.closeChunk();
    const c = this.current;
    if (this.windows === 0 || this.lastWindow !== w - 1) this.windowRanges++;
    this.windows++;
    this.lastWindow = w;
    for (const b of blocks) this.blockCount += b.end - b.start;
    for (const key of LIST_KEYS) for (const r of part[key]) appendAdjacent(c[key], r.start, r.end);
  }

  private closeChunk(): void {
    if (this.windows === 0) return;
    const c = this.current;
    this.ready.push(c);
    this.chunks.push({ index: c.index, blocks: this.blockCount, bytes: this.blockCount * this.options.blockBytes });
    this.current = emptyDraft(c.index + 1);
    this.windows = 0;
    this.windowRanges = 0;
    this.blockCount = 0;
    this.lastWindow = -2;
  }
}

const LIST_KEYS = ['blocks', 'changed', 'cleared', 'allocated', 'baseAllocated'] as const;

function emptyDraft(index: number): ChunkDraft {
  return { index, blocks: [], changed: [], cleared: [], allocated: [], baseAllocated: [] };
}

function documentRanges(c: ChunkDraft): number {
  return LIST_KEYS.reduce((sum, key) => sum + c[key].length, 0);
}
