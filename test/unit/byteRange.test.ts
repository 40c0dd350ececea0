import fc from 'fast-check';
import {
  ByteRange,
  PAGE_BYTES,
  RangeList,
  assertPageAligned,
  clip,
  fromInclusive,
  intersect,
  isNormalized,
  normalize,
  subtract,
  totalBytes,
  union,
} from '../../src/ranges/byteRange';
import { DeltavaultError } from '../../src/errors';
import { arbNormalizedList, arbRangeList, expectInvalidRange, fromBits, toBits } from '../support/rangeModels';

/** Size of the byte universe the naive bitmap model covers. */
const U = 4096;
const RUNS = { numRuns: 300 };

// ---- naive bitmap model (toBits/fromBits: test/support/rangeModels.ts) ----------------------

const countBits = (bits: readonly boolean[]): number => bits.filter(Boolean).length;

// ---- generators ---------------------------------------------------------------------------

/** Any order, any overlap, including empty ranges; lengths up to 64 favoured so lists are fragmented. */
const arbRawList = arbRangeList(U, 40, 64);

/** A normalized list, built through the bitmap model (independent of the code under test). */
const arbNormalized: fc.Arbitrary<ByteRange[]> = arbNormalizedList(U, 40, 64);

// ---- properties ---------------------------------------------------------------------------

describe('normalize', () => {
  it('equals the bitmap of its input, and is normalized', () => {
    fc.assert(
      fc.property(arbRawList, (rs) => {
        const n = normalize(rs);
        expect(isNormalized(n)).toBe(true);
        expect(n).toEqual(fromBits(toBits(rs, U)));
      }),
      RUNS,
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(arbRawList, (rs) => {
        const n = normalize(rs);
        expect(normalize(n)).toEqual(n);
      }),
      RUNS,
    );
  });

  it('accepts any iterable and does not mutate its input', () => {
    fc.assert(
      fc.property(arbRawList, (rs) => {
        const copy = rs.map((r) => ({ ...r }));
        function* gen(): Generator<ByteRange> {
          yield* rs;
        }
        expect(normalize(gen())).toEqual(normalize(rs));
        expect(rs).toEqual(copy);
      }),
      { numRuns: 200 },
    );
  });

  it('merges adjacent and overlapping ranges and drops empty ones', () => {
    expect(
      normalize([
        { start: 10, end: 20 },
        { start: 0, end: 10 },
        { start: 30, end: 30 },
        { start: 15, end: 25 },
        { start: 40, end: 50 },
      ]),
    ).toEqual([
      { start: 0, end: 25 },
      { start: 40, end: 50 },
    ]);
    expect(normalize([])).toEqual([]);
    expect(normalize([{ start: 7, end: 7 }])).toEqual([]);
  });

  it('handles offsets near 64 TiB exactly', () => {
    const T = 64 * 1024 ** 4;
    expect(
      normalize([
        { start: T - 1024, end: T },
        { start: T - 2048, end: T - 1024 },
      ]),
    ).toEqual([{ start: T - 2048, end: T }]);
  });
});

describe('isNormalized', () => {
  it('agrees with "equals its own bitmap normalization" for well-formed lists', () => {
    fc.assert(
      fc.property(arbRawList, (rs) => {
        const expected = JSON.stringify(rs) === JSON.stringify(fromBits(toBits(rs, U)));
        expect(isNormalized(rs)).toBe(expected);
      }),
      RUNS,
    );
  });

  it('rejects adjacency, overlap, disorder, empty and malformed ranges', () => {
    expect(isNormalized([])).toBe(true);
    expect(isNormalized([{ start: 0, end: 1 }, { start: 2, end: 3 }])).toBe(true);
    expect(isNormalized([{ start: 0, end: 1 }, { start: 1, end: 3 }])).toBe(false);
    expect(isNormalized([{ start: 0, end: 5 }, { start: 3, end: 8 }])).toBe(false);
    expect(isNormalized([{ start: 5, end: 8 }, { start: 0, end: 2 }])).toBe(false);
    expect(isNormalized([{ start: 4, end: 4 }])).toBe(false);
    expect(isNormalized([{ start: 5, end: 4 }])).toBe(false);
    expect(isNormalized([{ start: -2, end: 4 }])).toBe(false);
    expect(isNormalized([{ start: 0.5, end: 4 }])).toBe(false);
  });
});

describe('set operations against the bitmap model', () => {
  const cases: [string, (a: RangeList, b: RangeList) => ByteRange[], (x: boolean, y: boolean) => boolean][] = [
    ['union', union, (x, y) => x || y],
    ['subtract', subtract, (x, y) => x && !y],
    ['intersect', intersect, (x, y) => x && y],
  ];
  it.each(cases)('%s', (_name, op, model) => {
    fc.assert(
      fc.property(arbNormalized, arbNormalized, (a, b) => {
        const ba = toBits(a, U);
        const bb = toBits(b, U);
        const expected = fromBits(ba.map((x, i) => model(x, bb[i] ?? false)));
        const got = op(a, b);
        expect(isNormalized(got)).toBe(true);
        expect(got).toEqual(expected);
      }),
      RUNS,
    );
  });

  it('identities: a ∪ ∅ = a, a − ∅ = a, a ∩ ∅ = ∅, a − a = ∅, (a − b) ∪ (a ∩ b) = a', () => {
    fc.assert(
      fc.property(arbNormalized, arbNormalized, (a, b) => {
        expect(union(a, [])).toEqual(a);
        expect(union([], a)).toEqual(a);
        expect(subtract(a, [])).toEqual(a);
        expect(intersect(a, [])).toEqual([]);
        expect(subtract(a, a)).toEqual([]);
        expect(union(subtract(a, b), intersect(a, b))).toEqual(a);
      }),
      { numRuns: 200 },
    );
  });

  it('reject unnormalized operands', () => {
    const bad = [
      { start: 0, end: 10 },
      { start: 10, end: 20 },
    ];
    expectInvalidRange(() => union(bad, []), /union: left operand.*not strictly after/);
    expectInvalidRange(() => subtract([], bad), /subtract: right operand/);
    expectInvalidRange(() => intersect([{ start: 9, end: 3 }], []), /start > end/);
  });
});

describe('totalBytes', () => {
  it('equals the number of set bits', () => {
    fc.assert(
      fc.property(arbNormalized, (a) => {
        expect(totalBytes(a)).toBe(countBits(toBits(a, U)));
      }),
      RUNS,
    );
  });
});

describe('clip', () => {
  it('equals intersection with the window, by the bitmap model', () => {
    fc.assert(
      fc.property(
        arbNormalized,
        fc.integer({ min: 0, max: U }),
        fc.integer({ min: 0, max: U }),
        (a, x, y) => {
          const start = Math.min(x, y);
          const end = Math.max(x, y);
          const bits = toBits(a, U);
          const expected = fromBits(bits.map((v, i) => v && i >= start && i < end));
          const got = clip(a, start, end);
          expect(got).toEqual(expected);
          expect(got).toEqual(intersect(a, start < end ? [{ start, end }] : []));
        },
      ),
      RUNS,
    );
  });

  it('works on windows beyond the last range and on an empty list', () => {
    expect(clip([], 0, 100)).toEqual([]);
    expect(clip([{ start: 0, end: 10 }], 10, 20)).toEqual([]);
    expect(clip([{ start: 0, end: 10 }], 5, 5)).toEqual([]);
    expect(clip([{ start: 0, end: 10 }, { start: 20, end: 30 }], 5, 25)).toEqual([
      { start: 5, end: 10 },
      { start: 20, end: 25 },
    ]);
  });

  it('rejects a bad window', () => {
    expectInvalidRange(() => clip([], 10, 5), /start > end/);
    expectInvalidRange(() => clip([], -1, 5), /non-negative safe integer/);
    expectInvalidRange(() => clip([], 0, 1.5), /non-negative safe integer/);
  });
});

describe('fromInclusive', () => {
  it('turns an inclusive {offset, count} into a half-open range', () => {
    expect(fromInclusive(0, 511)).toEqual({ start: 0, end: 512 });
    expect(fromInclusive(1024, 0)).toEqual({ start: 1024, end: 1025 });
    fc.assert(
      fc.property(fc.nat(U), fc.nat(U), (offset, count) => {
        const r = fromInclusive(offset, count);
        expect(r.start).toBe(offset);
        expect(r.end - 1).toBe(offset + count); // last byte (inclusive end)
      }),
      { numRuns: 200 },
    );
  });

  it('rejects negative or fractional input', () => {
    expectInvalidRange(() => fromInclusive(-512, 511), /offset -512/);
    expectInvalidRange(() => fromInclusive(0, 1.5), /count 1.5/);
  });
});

describe('assertPageAligned', () => {
  it('accepts exactly the lists whose offsets are all multiples of 512', () => {
    const arbOffsets = fc.array(
      fc.tuple(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 16 }), fc.constantFrom(0, 0, 0, 1, 256, 511)),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(arbOffsets, (specs) => {
        const list = specs.map(([s, len, skew]) => ({
          start: s * PAGE_BYTES,
          end: (s + len) * PAGE_BYTES + skew,
        }));
        const aligned = list.every((r) => r.start % 512 === 0 && r.end % 512 === 0);
        if (aligned) {
          expect(() => assertPageAligned(list, 'x')).not.toThrow();
        } else {
          expect(() => assertPageAligned(list, 'x')).toThrow(DeltavaultError);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('names `what` and the first offending range', () => {
    const err = expectInvalidRange(
      () =>
        assertPageAligned(
          [
            { start: 0, end: 512 },
            { start: 1024, end: 1500 },
            { start: 2049, end: 4096 },
          ],
          'changed ranges of disk d1',
        ),
      /changed ranges of disk d1.*\[1024, 1500\).*not aligned/,
    );
    expect(err.details).toMatchObject({ index: 1, start: 1024, end: 1500 });
  });
});

describe('normalize errors', () => {
  it('rejects start > end', () => {
    expectInvalidRange(() => normalize([{ start: 10, end: 5 }]), /\[10, 5\) has start > end/);
  });
  it('rejects negative offsets', () => {
    expectInvalidRange(() => normalize([{ start: -1, end: 5 }]), /\[-1, 5\).*non-negative/);
  });
  it('rejects non-integer and unsafe offsets', () => {
    expectInvalidRange(() => normalize([{ start: 0, end: 2.5 }]), /non-negative safe integer/);
    expectInvalidRange(() => normalize([{ start: 0, end: Number.NaN }]), /non-negative safe integer/);
    expectInvalidRange(() => normalize([{ start: 0, end: 2 ** 53 }]), /non-negative safe integer/);
  });
});
