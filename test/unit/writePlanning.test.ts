import fc from 'fast-check';
import { ByteRange, PAGE_BYTES, isNormalized } from '../../src/ranges/byteRange';
import { MAX_PUT_PAGE_BYTES, partitionBlocks, splitForWrites, touchedBlocks } from '../../src/ranges/writePlanning';
import { arbNormalizedList, expectInvalidRange, fromBits, toBits } from '../support/rangeModels';

const RUNS = { numRuns: 300 };

// ---- generators (bitmap model in test/support/rangeModels.ts: one boolean per byte, page or block)

/** Universe of 64 pages (32 KiB); lists are page-aligned byte ranges. */
const PAGES = 64;
const arbAlignedBytes = arbNormalizedList(PAGES, 30).map((rs) =>
  rs.map((r) => ({ start: r.start * PAGE_BYTES, end: r.end * PAGE_BYTES })),
);

// ---- splitForWrites -----------------------------------------------------------------------

describe('splitForWrites', () => {
  it('covers exactly the input with ordered, contiguous, aligned, non-empty pieces of at most maxBytes', () => {
    fc.assert(
      fc.property(arbAlignedBytes, fc.integer({ min: 1, max: 6 }), (ranges, maxPages) => {
        const maxBytes = maxPages * PAGE_BYTES;
        const pieces = [...splitForWrites(ranges, maxBytes)];
        // Model per page: coverage equals the input, and pieces do not overlap (total length matches).
        const asPages = (rs: readonly ByteRange[]): ByteRange[] =>
          rs.map((r) => ({ start: r.start / PAGE_BYTES, end: r.end / PAGE_BYTES }));
        expect(fromBits(toBits(asPages(pieces), PAGES), PAGE_BYTES)).toEqual(ranges);
        expect(pieces.reduce((n, p) => n + p.end - p.start, 0)).toBe(
          ranges.reduce((n, r) => n + r.end - r.start, 0),
        );
        const problems: string[] = [];
        let prevEnd = -1;
        for (const p of pieces) {
          if (!(p.end > p.start)) problems.push(`empty ${JSON.stringify(p)}`);
          if (p.end - p.start > maxBytes) problems.push(`too big ${JSON.stringify(p)}`);
          if (p.start % PAGE_BYTES !== 0 || p.end % PAGE_BYTES !== 0) problems.push(`unaligned ${JSON.stringify(p)}`);
          if (p.start < prevEnd) problems.push(`out of order ${JSON.stringify(p)}`);
          prevEnd = p.end;
        }
        // Pieces of one input range are contiguous, start at its start, and only the last may be short.
        let k = 0;
        for (const r of ranges) {
          const n = Math.ceil((r.end - r.start) / maxBytes);
          for (let i = 0; i < n; i++, k++) {
            const want = { start: r.start + i * maxBytes, end: Math.min(r.end, r.start + (i + 1) * maxBytes) };
            if (JSON.stringify(pieces[k]) !== JSON.stringify(want)) {
              problems.push(`piece ${String(k)}: got ${JSON.stringify(pieces[k])}, want ${JSON.stringify(want)}`);
            }
          }
        }
        if (k !== pieces.length) problems.push(`got ${String(pieces.length)} pieces, want ${String(k)}`);
        expect(problems).toEqual([]);
      }),
      RUNS,
    );
  });

  it('defaults to 4 MiB pieces and streams lazily', () => {
    const MiB = 1024 * 1024;
    expect(MAX_PUT_PAGE_BYTES).toBe(4 * MiB);
    expect([...splitForWrites([{ start: 0, end: 10 * MiB }])]).toEqual([
      { start: 0, end: 4 * MiB },
      { start: 4 * MiB, end: 8 * MiB },
      { start: 8 * MiB, end: 10 * MiB },
    ]);
    // A 64 TiB range: taking the first two pieces must not enumerate the other ~16M.
    const it = splitForWrites([{ start: 0, end: 64 * 1024 ** 4 }]);
    expect(it.next().value).toEqual({ start: 0, end: 4 * MiB });
    expect(it.next().value).toEqual({ start: 4 * MiB, end: 8 * MiB });
    expect([...splitForWrites([])]).toEqual([]);
  });

  it('rejects bad input eagerly, when called', () => {
    expectInvalidRange(() => splitForWrites([{ start: 0, end: 1000 }]), /splitForWrites: ranges.*\[0, 1000\).*not aligned/);
    expectInvalidRange(() => splitForWrites([{ start: 0, end: 512 }], 1000), /maxBytes must be a positive multiple of 512.*1000/);
    expectInvalidRange(() => splitForWrites([{ start: 0, end: 512 }], 0), /maxBytes must be a positive multiple of 512/);
    expectInvalidRange(() => splitForWrites([{ start: 0, end: 512 }], -512), /maxBytes must be a positive multiple/);
    expectInvalidRange(
      () =>
        splitForWrites([
          { start: 1024, end: 2048 },
          { start: 0, end: 512 },
        ]),
      /not a normalized range list/,
    );
    expectInvalidRange(() => splitForWrites([{ start: -512, end: 512 }]), /non-negative safe integer/);
    expectInvalidRange(() => splitForWrites([{ start: 1024, end: 512 }]), /start > end/);
  });
});

// ---- touchedBlocks ------------------------------------------------------------------------

describe('touchedBlocks', () => {
  const BYTES = 8192;
  it('matches the per-byte model for unaligned ranges', () => {
    fc.assert(
      fc.property(arbNormalizedList(BYTES, 30), fc.constantFrom(512, 1024, 2048, 3072), (ranges, blockBytes) => {
        const bits = toBits(ranges, BYTES);
        const nBlocks = Math.ceil(BYTES / blockBytes);
        const blockBits = Array.from({ length: nBlocks }, (_, b) =>
          bits.slice(b * blockBytes, (b + 1) * blockBytes).some(Boolean),
        );
        const got = touchedBlocks(ranges, blockBytes);
        expect(isNormalized(got)).toBe(true);
        expect(got).toEqual(fromBits(blockBits));
      }),
      RUNS,
    );
  });

  it('maps boundaries exactly', () => {
    expect(touchedBlocks([{ start: 2047, end: 2049 }], 2048)).toEqual([{ start: 0, end: 2 }]);
    expect(touchedBlocks([{ start: 2048, end: 4096 }], 2048)).toEqual([{ start: 1, end: 2 }]);
    expect(
      touchedBlocks(
        [
          { start: 0, end: 10 },
          { start: 2040, end: 2050 },
          { start: 8192, end: 8193 },
        ],
        2048,
      ),
    ).toEqual([
      { start: 0, end: 2 },
      { start: 4, end: 5 },
    ]);
    const T = 64 * 1024 ** 4;
    expect(touchedBlocks([{ start: T - 1, end: T }], 4 * 1024 * 1024)).toEqual([
      { start: T / (4 * 1024 * 1024) - 1, end: T / (4 * 1024 * 1024) },
    ]);
    expect(touchedBlocks([], 2048)).toEqual([]);
  });

  it('rejects bad block sizes and unnormalized input', () => {
    expectInvalidRange(() => touchedBlocks([], 1000), /blockBytes must be a positive multiple of 512.*1000/);
    expectInvalidRange(() => touchedBlocks([], 0), /blockBytes must be a positive multiple of 512/);
    expectInvalidRange(
      () =>
        touchedBlocks(
          [
            { start: 0, end: 5 },
            { start: 5, end: 9 },
          ],
          512,
        ),
      /touchedBlocks: ranges is not a normalized range list/,
    );
  });
});

// ---- partitionBlocks ----------------------------------------------------------------------

describe('partitionBlocks', () => {
  const N = 200;
  it('puts every block in exactly one chunk, in order, within the block and range caps', () => {
    fc.assert(
      fc.property(
        arbNormalizedList(N, 40),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 * 2048 }),
        fc.integer({ min: 1, max: 6 }),
        (blocks, blockPages, budgetBytes, maxRanges) => {
          const blockBytes = blockPages * PAGE_BYTES;
          const capacity = Math.max(1, Math.floor(budgetBytes / blockBytes));
          const chunks = partitionBlocks(blocks, blockBytes, budgetBytes, maxRanges);

          const flat: number[] = [];
          const problems: string[] = [];
          chunks.forEach((c, i) => {
            const count = c.blocks.reduce((n, r) => n + r.end - r.start, 0);
            if (c.index !== i) problems.push(`chunk ${String(i)} has index ${String(c.index)}`);
            if (!isNormalized(c.blocks)) problems.push(`chunk ${String(i)} blocks not normalized`);
            if (c.blocks.length === 0) problems.push(`chunk ${String(i)} is empty`);
            if (c.blocks.length > maxRanges) problems.push(`chunk ${String(i)} has too many ranges`);
            if (count > capacity) problems.push(`chunk ${String(i)} has ${String(count)} > ${String(capacity)} blocks`);
            if (c.bytes !== count * blockBytes) problems.push(`chunk ${String(i)} bytes ${String(c.bytes)}`);
            // Greedy: every chunk but the last is full by one of the caps.
            if (i < chunks.length - 1 && count !== capacity && c.blocks.length !== maxRanges) {
              problems.push(`chunk ${String(i)} is not full`);
            }
            for (const r of c.blocks) for (let b = r.start; b < r.end; b++) flat.push(b);
          });
          expect(problems).toEqual([]);
          const expected: number[] = [];
          for (const r of blocks) for (let b = r.start; b < r.end; b++) expected.push(b);
          expect(flat).toEqual(expected); // each block exactly once, order preserved
        },
      ),
      RUNS,
    );
  });

  it('holds at least one block per chunk when the budget is below one block', () => {
    const chunks = partitionBlocks([{ start: 3, end: 6 }], 2048, 100);
    expect(chunks).toEqual([
      { index: 0, blocks: [{ start: 3, end: 4 }], bytes: 2048 },
      { index: 1, blocks: [{ start: 4, end: 5 }], bytes: 2048 },
      { index: 2, blocks: [{ start: 5, end: 6 }], bytes: 2048 },
    ]);
  });

  it('splits index ranges across chunks and respects the default range cap', () => {
    expect(partitionBlocks([{ start: 0, end: 5 }], 512, 1024)).toEqual([
      { index: 0, blocks: [{ start: 0, end: 2 }], bytes: 1024 },
      { index: 1, blocks: [{ start: 2, end: 4 }], bytes: 1024 },
      { index: 2, blocks: [{ start: 4, end: 5 }], bytes: 512 },
    ]);
    const many = Array.from({ length: 120_000 }, (_, i) => ({ start: 2 * i, end: 2 * i + 1 }));
    const chunks = partitionBlocks(many, 512, Number.MAX_SAFE_INTEGER);
    expect(chunks.map((c) => c.blocks.length)).toEqual([50_000, 50_000, 20_000]);
    expect(partitionBlocks([], 512, 512)).toEqual([]);
  });

  it('rejects bad arguments', () => {
    expectInvalidRange(() => partitionBlocks([], 0, 512), /blockBytes must be a positive multiple of 512 bytes, got 0/);
    expectInvalidRange(() => partitionBlocks([], 700, 4096), /blockBytes must be a positive multiple of 512 bytes, got 700/);
    expectInvalidRange(() => partitionBlocks([], 512, 0), /budgetBytes must be a positive integer, got 0/);
    expectInvalidRange(() => partitionBlocks([], 512, 512, 0), /maxRangesPerChunk must be a positive integer/);
    expectInvalidRange(
      () =>
        partitionBlocks(
          [
            { start: 4, end: 6 },
            { start: 1, end: 2 },
          ],
          512,
          4096,
        ),
      /partitionBlocks: blocks is not a normalized range list/,
    );
  });
});
