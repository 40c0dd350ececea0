/**
 * The layer sweep (src/ranges/layerSweep.ts) against a bitmap model: for every unit, the mask
 * of the layers whose ranges cover it. Inputs are sorted by start but may overlap and touch
 * within a layer; streams are the same lists cut into random pages.
 */
import fc from 'fast-check';
import type { ByteRange } from '../../src/ranges/byteRange';
import { LayerSweep, sweepLists, sweepStreams, type LayerRange } from '../../src/ranges/layerSweep';
import { arbRangeList } from '../support/rangeModels';
import { expectDeltavaultError } from '../support/errors';

const SIZE = 96;
const RUNS = { numRuns: 300 };

interface Interval {
  start: number;
  end: number;
  mask: number;
}

/** Up to 5 layers, each a list sorted by start (overlaps and empty ranges included). */
const arbLayers = fc.array(
  arbRangeList(SIZE, 12, 6).map((rs) => [...rs].sort((a, b) => a.start - b.start)),
  { minLength: 1, maxLength: 5 },
);

function modelMasks(layers: readonly (readonly ByteRange[])[]): number[] {
  const masks = new Array<number>(SIZE).fill(0);
  layers.forEach((list, layer) => {
    for (const r of list) for (let i = r.start; i < r.end; i++) masks[i] = (masks[i] as number) | (1 << layer);
  });
  return masks;
}

function masksOf(intervals: readonly Interval[]): number[] {
  const masks = new Array<number>(SIZE).fill(0);
  for (const iv of intervals) for (let i = iv.start; i < iv.end; i++) masks[i] = iv.mask;
  return masks;
}

function collect(layers: readonly (readonly ByteRange[])[]): Interval[] {
  const out: Interval[] = [];
  sweepLists(layers, (start, end, mask) => out.push({ start, end, mask }));
  return out;
}

/** Cuts a list into pages at the given (sorted, deduplicated) cut points, empty pages included. */
function paginate<T>(list: readonly T[], cuts: readonly number[]): T[][] {
  const pages: T[][] = [];
  let from = 0;
  for (const cut of [...cuts, list.length]) {
    const to = Math.min(list.length, Math.max(from, cut));
    pages.push(list.slice(from, to));
    from = to;
  }
  return pages;
}

/** Runs a sweep to its end. */
async function drain(sweep: AsyncGenerator<void>): Promise<void> {
  while (!(await sweep.next()).done) {
    // Between pages a caller could take what its sink gathered.
  }
}

async function* pagesOf<T>(pages: readonly T[][]): AsyncGenerator<T[]> {
  for (const page of pages) {
    await Promise.resolve();
    yield page;
  }
}

test('every unit gets the mask of the layers covering it; intervals are ascending, disjoint, non-empty, nonzero and never an equal-mask neighbour', () => {
  fc.assert(
    fc.property(arbLayers, (layers) => {
      const intervals = collect(layers);
      expect(masksOf(intervals)).toEqual(modelMasks(layers));
      for (const [i, iv] of intervals.entries()) {
        expect(iv.start).toBeLessThan(iv.end);
        expect(iv.mask).not.toBe(0);
        const prev = intervals[i - 1];
        if (prev) {
          expect(prev.end).toBeLessThanOrEqual(iv.start);
          if (prev.end === iv.start) expect(prev.mask).not.toBe(iv.mask);
        }
      }
    }),
    RUNS,
  );
});

test('streams cut into any pages sweep exactly like the whole lists, and are all closed', async () => {
  await fc.assert(
    fc.asyncProperty(arbLayers, fc.array(fc.array(fc.nat(14), { maxLength: 4 }), { minLength: 5, maxLength: 5 }), async (layers, cutsPerLayer) => {
      const closed: number[] = [];
      const streams = layers.map((list, layer) => {
        const tagged: LayerRange[] = list.map((r) => ({ ...r, layer }));
        const cuts = [...new Set(cutsPerLayer[layer] ?? [])].sort((a, b) => a - b);
        async function* pages(): AsyncGenerator<LayerRange[]> {
          try {
            yield* pagesOf(paginate(tagged, cuts));
          } finally {
            closed.push(layer);
          }
        }
        return { what: `layer ${layer}`, pages: pages() };
      });
      const got: Interval[] = [];
      await drain(sweepStreams(layers.length, streams, (start, end, mask) => got.push({ start, end, mask })));
      expect(got).toEqual(collect(layers));
      expect(closed.sort()).toEqual(layers.map((_, i) => i));
    }),
    { numRuns: 150 },
  );
});

test('a listing out of offset order is refused, naming the listing and the range', async () => {
  const streams = [
    { what: 'allocated ranges of disk-a', pages: pagesOf([[{ start: 0, end: 512, layer: 0 }], [{ start: 4096, end: 8192, layer: 0 }, { start: 1024, end: 2048, layer: 0 }]]) },
    { what: 'the diff', pages: pagesOf([[{ start: 512, end: 1024, layer: 1 }]]) },
  ];
  const error = await drain(sweepStreams(2, streams, () => undefined)).catch((e: unknown) => e);
  const e = expectDeltavaultError(() => {
    throw error;
  }, 'INVALID_RANGE');
  expect(e.message).toMatch(/allocated ranges of disk-a: range \[1024, 2048\) starts before a range already read \(at 4096\)/);
});

test('a failing listing fails the sweep and every other stream is still closed', async () => {
  let closed = false;
  async function* good(): AsyncGenerator<LayerRange[]> {
    try {
      yield [{ start: 0, end: 512, layer: 0 }];
      yield [{ start: 1 << 20, end: (1 << 20) + 512, layer: 0 }];
    } finally {
      closed = true;
    }
  }
  async function* bad(): AsyncGenerator<LayerRange[]> {
    yield [{ start: 0, end: 1024, layer: 1 }];
    throw new Error('listing failed on page 2');
  }
  await expect(drain(sweepStreams(2, [{ what: 'good', pages: good() }, { what: 'bad', pages: bad() }], () => undefined))).rejects.toThrow('listing failed on page 2');
  expect(closed).toBe(true);
});

test('memory is the number of ranges open at one offset: two layers of a million ranges never hold more than one open range each', () => {
  let intervals = 0;
  let widest = 0;
  const sweep = new LayerSweep(2, () => intervals++);
  const open = (sweep as unknown as { ends: number[] }).ends;
  for (let i = 0; i < 1_000_000; i++) {
    sweep.add({ start: i * 1024, end: i * 1024 + 512, layer: 0 });
    sweep.add({ start: i * 1024 + 256, end: i * 1024 + 768, layer: 1 });
    widest = Math.max(widest, open.length);
  }
  sweep.finish();
  expect(widest).toBe(2);
  expect(intervals).toBe(3_000_000);
});
