import fc from 'fast-check';
import { SLICE_BYTES, slicesOf } from '../../src/workflows/slices';

test('slices cover the point exactly, in order, each at most one slice long and aligned', () => {
  fc.assert(
    // Sizes up to 50 slices of whichever slice size (a 40 TiB disk is 640 default slices).
    fc.property(fc.constantFrom(4 * 1024 ** 2, 64 * 1024 ** 2, SLICE_BYTES), fc.integer({ min: 0, max: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), (sliceBytes, whole, part) => {
      const size = whole * sliceBytes + Math.floor(part * sliceBytes);
      const slices = slicesOf(size, sliceBytes);
      expect(slices.length).toBe(Math.ceil(size / sliceBytes));
      let at = 0;
      for (const s of slices) {
        expect(s.start).toBe(at);
        expect(s.start % sliceBytes).toBe(0);
        expect(s.end - s.start).toBeGreaterThan(0);
        expect(s.end - s.start).toBeLessThanOrEqual(sliceBytes);
        at = s.end;
      }
      expect(at).toBe(size);
    }),
    { numRuns: 300 },
  );
});
