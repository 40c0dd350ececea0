/**
 * Naive models of range lists for the unit tests: a bitmap with one boolean per unit (a byte,
 * a page or a block), the random normalized lists built through it, and the INVALID_RANGE check.
 * Independent of the code under test: nothing here calls src/ranges.
 */
import fc from 'fast-check';
import type { ByteRange } from '../../src/ranges/byteRange';
import type { DeltavaultError } from '../../src/errors';
import { expectDeltavaultError } from './errors';

/** Bitmap of [0, size) units: bit i is set where a range covers bytes [i * scale, (i + 1) * scale). Ranges must be multiples of `scale`. */
export function toBits(ranges: Iterable<ByteRange>, size: number, scale = 1): boolean[] {
  const bits = new Array<boolean>(size).fill(false);
  for (const r of ranges) for (let i = r.start / scale; i < r.end / scale; i++) bits[i] = true;
  return bits;
}

/** The normalized list of the set bits' runs, each unit `scale` bytes long. */
export function fromBits(bits: readonly boolean[], scale = 1): ByteRange[] {
  const out: ByteRange[] = [];
  let i = 0;
  while (i < bits.length) {
    if (!bits[i]) {
      i++;
      continue;
    }
    const start = i;
    while (i < bits.length && bits[i]) i++;
    out.push({ start: start * scale, end: i * scale });
  }
  return out;
}

/** One well-formed (possibly empty) range in [0, size]; lengths up to `shortMax` are favoured so lists are fragmented. */
export function arbRange(size: number, shortMax: number): fc.Arbitrary<ByteRange> {
  return fc
    .tuple(fc.integer({ min: 0, max: size }), fc.oneof(fc.integer({ min: 0, max: shortMax }), fc.integer({ min: 0, max: size })))
    .map(([start, len]) => ({ start, end: Math.min(size, start + len) }));
}

/** Up to `maxLength` ranges of arbRange: any order, any overlap, empty ones included. */
export function arbRangeList(size: number, maxLength: number, shortMax: number): fc.Arbitrary<ByteRange[]> {
  return fc.array(arbRange(size, shortMax), { maxLength });
}

/** A normalized list over [0, size) units, built through the bitmap model (short runs favoured). */
export function arbNormalizedList(size: number, maxLength: number, shortMax = 8): fc.Arbitrary<ByteRange[]> {
  return arbRangeList(size, maxLength, shortMax).map((rs) => fromBits(toBits(rs, size)));
}

/** Expects `fn` to throw INVALID_RANGE with a message matching `messagePart`; returns the error. */
export function expectInvalidRange(fn: () => unknown, messagePart: string | RegExp): DeltavaultError {
  const err = expectDeltavaultError(fn, 'INVALID_RANGE');
  expect(err.message).toMatch(messagePart);
  return err;
}
