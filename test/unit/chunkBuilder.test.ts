/**
 * The streaming chunk builder (src/backup/chunkBuilder.ts), fed by the layer sweep, against a
 * unit-by-unit model of the plan: what each 64 KiB unit of the disk needs (the delta rules
 * written out again here), which blocks and 4 MiB windows that touches, and how the touched
 * windows fall into chunks (`partitionBlocks`, the greedy partition the planner always used).
 */
import fc from 'fast-check';
import type { ByteRange } from '../../src/ranges/byteRange';
import { sweepLists } from '../../src/ranges/layerSweep';
import { partitionBlocks } from '../../src/ranges/writePlanning';
import { ChunkBuilder, type ChunkDraft, type ChunkSummary } from '../../src/backup/chunkBuilder';
import { DELTA_LAYER_COUNT, DELTA_LAYERS } from '../../src/backup/deltaPlan';
import { WINDOW_BYTES } from '../../src/vault/vaultLayout';
import { arbNormalizedList, fromBits, toBits } from '../support/rangeModels';

const UNIT = 64 * 1024;
const UNITS_PER_WINDOW = WINDOW_BYTES / UNIT;
/** Up to 9 windows and a bit; inputs reach past the disk's end. */
const MAX_UNITS = 9 * UNITS_PER_WINDOW + 20;

interface Case {
  sizeUnits: number;
  incremental: boolean;
  blockBytes: number;
  budgetBytes: number;
  maxWindowRanges: number;
  newAllocated: ByteRange[];
  baseAllocated: ByteRange[];
  previousAllocated: ByteRange[];
  reportedChanged: ByteRange[];
  reportedCleared: ByteRange[];
  /** The resized tail's end, in units (its 512 bytes end there), or none. */
  tailUnit?: number;
}

const bytes = (units: ByteRange[]): ByteRange[] => units.map((r) => ({ start: r.start * UNIT, end: r.end * UNIT }));

const arbCase: fc.Arbitrary<Case> = fc
  .record({
    sizeUnits: fc.integer({ min: 1, max: MAX_UNITS - 10 }),
    incremental: fc.boolean(),
    blockBytes: fc.constantFrom(UNIT, 1024 * 1024, WINDOW_BYTES),
    budgetBytes: fc.constantFrom(1, WINDOW_BYTES, 2 * WINDOW_BYTES, 3 * WINDOW_BYTES + 5, 1024 ** 3),
    maxWindowRanges: fc.constantFrom(1, 2, 50_000),
    lists: fc.array(arbNormalizedList(MAX_UNITS, 14, 40), { minLength: 5, maxLength: 5 }),
    tail: fc.option(fc.integer({ min: 1, max: MAX_UNITS }), { nil: undefined }),
  })
  .map(({ lists, tail, ...rest }) => {
    const [newAllocated, baseAllocated, previousAllocated, reportedChanged, reportedCleared] = lists.map(bytes) as ByteRange[][];
    return {
      ...rest,
      newAllocated: newAllocated as ByteRange[],
      baseAllocated: baseAllocated as ByteRange[],
      previousAllocated: rest.incremental ? (previousAllocated as ByteRange[]) : [],
      reportedChanged: rest.incremental ? (reportedChanged as ByteRange[]) : [],
      reportedCleared: rest.incremental ? (reportedCleared as ByteRange[]) : [],
      tailUnit: rest.incremental && tail !== undefined ? Math.min(tail, rest.sizeUnits) : undefined,
    };
  });

function build(c: Case, maxDocumentRanges = Infinity): { drafts: ChunkDraft[]; chunks: ChunkSummary[]; totals: ChunkBuilder['totals'] } {
  const builder = new ChunkBuilder({
    sizeBytes: c.sizeUnits * UNIT,
    blockBytes: c.blockBytes,
    budgetBytes: c.budgetBytes,
    incremental: c.incremental,
    maxWindowRanges: c.maxWindowRanges,
    maxDocumentRanges,
  });
  const layers: ByteRange[][] = Array.from({ length: DELTA_LAYER_COUNT }, () => []);
  layers[DELTA_LAYERS.newAllocated] = c.newAllocated;
  layers[DELTA_LAYERS.baseAllocated] = c.baseAllocated;
  layers[DELTA_LAYERS.previousAllocated] = c.previousAllocated;
  layers[DELTA_LAYERS.reportedChanged] = c.reportedChanged;
  layers[DELTA_LAYERS.reportedCleared] = c.reportedCleared;
  if (c.tailUnit !== undefined) layers[DELTA_LAYERS.resizedTail] = [{ start: c.tailUnit * UNIT - 512, end: c.tailUnit * UNIT }];
  const drafts: ChunkDraft[] = [];
  sweepLists(layers, (start, end, mask) => {
    builder.interval(start, end, mask);
    drafts.push(...builder.takeReady());
  });
  builder.finish();
  drafts.push(...builder.takeReady());
  return { drafts, chunks: builder.chunks, totals: builder.totals };
}

/** The plan, unit by unit. */
function model(c: Case): { drafts: ChunkDraft[]; totals: ChunkBuilder['totals'] } {
  const n = c.sizeUnits;
  const bits = (list: ByteRange[]): boolean[] => toBits(list, MAX_UNITS, UNIT).slice(0, n);
  const [nw, base, prev, chg, clr] = [c.newAllocated, c.baseAllocated, c.previousAllocated, c.reportedChanged, c.reportedCleared].map(bits) as boolean[][];
  const at = (b: boolean[] | undefined, u: number): boolean => b?.[u] ?? false;
  const changed = Array.from({ length: n }, (_, u) => (c.incremental ? at(chg, u) && at(nw, u) : at(nw, u)));
  const cleared = Array.from({ length: n }, (_, u) => !at(nw, u) && (at(base, u) || (c.incremental && (at(prev, u) || at(clr, u)))));
  const touched = changed.map((x, u) => x || (cleared[u] as boolean) || (c.tailUnit !== undefined && u === c.tailUnit - 1));
  const unitsPerBlock = c.blockBytes / UNIT;
  const touchedBlockBits: boolean[] = [];
  touched.forEach((t, u) => {
    if (t) touchedBlockBits[Math.floor(u / unitsPerBlock)] = true;
  });
  const touchedBlocks = fromBits(Array.from(touchedBlockBits, (b) => b ?? false));
  const windowBits: boolean[] = [];
  for (const b of touchedBlocks) for (let i = b.start; i < b.end; i++) windowBits[Math.floor((i * c.blockBytes) / WINDOW_BYTES)] = true;
  const windows = fromBits(Array.from(windowBits, (b) => b ?? false));
  const perWindow = WINDOW_BYTES / c.blockBytes;
  const drafts = partitionBlocks(windows, WINDOW_BYTES, c.budgetBytes, c.maxWindowRanges).map((chunk) => {
    const inChunk = (block: number): boolean => chunk.blocks.some((w) => block >= w.start * perWindow && block < w.end * perWindow);
    const unitIn = (u: number): boolean => touchedBlockBits[Math.floor(u / unitsPerBlock)] === true && inChunk(Math.floor(u / unitsPerBlock));
    const pick = (b: boolean[]): ByteRange[] => fromBits(b.map((x, u) => x && unitIn(u)), UNIT);
    return {
      index: chunk.index,
      blocks: fromBits(Array.from(touchedBlockBits, (t, i) => t === true && inChunk(i))),
      changed: pick(changed),
      cleared: pick(cleared),
      allocated: pick(nw as boolean[]),
      baseAllocated: pick(base as boolean[]),
    };
  });
  const count = (b: boolean[]): number => b.filter(Boolean).length * UNIT;
  return { drafts, totals: { allocated: count(nw as boolean[]), changed: count(changed), cleared: count(cleared) } };
}

test('the chunks and totals are exactly the unit model’s: delta rules, touched blocks and windows, greedy partition', () => {
  fc.assert(
    fc.property(arbCase, (c) => {
      const got = build(c);
      const want = model(c);
      expect(got.drafts).toEqual(want.drafts);
      expect(got.totals).toEqual(want.totals);
      expect(got.chunks).toEqual(
        want.drafts.map((d) => {
          const blocks = d.blocks.reduce((sum, b) => sum + b.end - b.start, 0);
          return { index: d.index, blocks, bytes: blocks * c.blockBytes };
        }),
      );
    }),
    { numRuns: 400 },
  );
});

test('a document range cap splits chunks at windows and loses nothing: more than one window never exceeds it', () => {
  fc.assert(
    fc.property(arbCase, fc.integer({ min: 1, max: 12 }), (c, cap) => {
      const capped = build(c, cap);
      const whole = model(c);
      const union = (pick: (d: ChunkDraft) => ByteRange[], scale: number): boolean[] =>
        toBits(capped.drafts.flatMap(pick), MAX_UNITS * (UNIT / scale), scale);
      for (const key of ['changed', 'cleared', 'allocated', 'baseAllocated'] as const) {
        expect(union((d) => d[key], UNIT)).toEqual(toBits(whole.drafts.flatMap((d) => d[key]), MAX_UNITS, UNIT));
      }
      expect(toBits(capped.drafts.flatMap((d) => d.blocks), MAX_UNITS)).toEqual(toBits(whole.drafts.flatMap((d) => d.blocks), MAX_UNITS));
      capped.drafts.forEach((d, i) => {
        expect(d.index).toBe(i);
        const windows = new Set(d.blocks.flatMap((b) => Array.from({ length: b.end - b.start }, (_, k) => Math.floor(((b.start + k) * c.blockBytes) / WINDOW_BYTES))));
        const ranges = d.blocks.length + d.changed.length + d.cleared.length + d.allocated.length + d.baseAllocated.length;
        if (windows.size > 1) expect(ranges).toBeLessThanOrEqual(cap);
      });
    }),
    { numRuns: 200 },
  );
});
