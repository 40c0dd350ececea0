/**
 * The small pure helpers the copy and restore paths stand on, each against a naive model:
 * coalesce and differingPages (src/backup/copyChunk.ts), forEachBounded
 * (src/util/boundedPool.ts), recovery point ids and disk keys (src/vault/vaultLayout.ts).
 */
import fc from 'fast-check';
import { ByteRange, PAGE_BYTES, isNormalized } from '../../src/ranges/byteRange';
import { bridgeGaps, coalesce, differingPages, settleAll } from '../../src/backup/copyChunk';
import { forEachBounded, prefetchInOrder } from '../../src/util/boundedPool';
import { assertDiskKey, parseRecoveryPointId, recoveryPointId } from '../../src/vault/vaultLayout';
import { DeltavaultError } from '../../src/errors';
import { expectDeltavaultError } from '../support/errors';
import { arbNormalizedList, fromBits, toBits } from '../support/rangeModels';

const RUNS = { numRuns: 300 };

// ---- coalesce -------------------------------------------------------------------------------

describe('coalesce', () => {
  const U = 2048;

  /** Naive model: fill every gap between consecutive input ranges that is at most maxGap long. */
  function modelCoalesce(ranges: readonly ByteRange[], maxGap: number): ByteRange[] {
    const bits = toBits(ranges, U);
    for (let i = 1; i < ranges.length; i++) {
      const gapStart = (ranges[i - 1] as ByteRange).end;
      const gapEnd = (ranges[i] as ByteRange).start;
      if (gapEnd - gapStart <= maxGap) for (let b = gapStart; b < gapEnd; b++) bits[b] = true;
    }
    return fromBits(bits);
  }

  it('equals the gap-filling model; covers the input; separates outputs by more than maxGap', () => {
    fc.assert(
      fc.property(arbNormalizedList(U, 20), fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: U })), (ranges, maxGap) => {
        const out = coalesce(ranges, maxGap);
        expect(out).toEqual(modelCoalesce(ranges, maxGap));
        expect(isNormalized(out)).toBe(true);
        // Coverage ⊇ input.
        const covered = toBits(out, U);
        const uncovered = toBits(ranges, U).flatMap((inInput, b) => (inInput && !covered[b] ? [b] : []));
        expect(uncovered).toEqual([]);
        // Gaps ≤ maxGap are merged: consecutive outputs are further apart than maxGap.
        for (let i = 1; i < out.length; i++) {
          expect((out[i] as ByteRange).start - (out[i - 1] as ByteRange).end).toBeGreaterThan(maxGap);
        }
        // Every input range lies inside exactly one output, and every output starts and ends on input bounds.
        const containers = ranges.map((r) => out.filter((o) => o.start <= r.start && r.end <= o.end).length);
        expect(containers.filter((n) => n !== 1)).toEqual([]);
        expect(out.filter((o) => !ranges.some((r) => r.start === o.start) || !ranges.some((r) => r.end === o.end))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('merges at exactly maxGap and not one byte beyond; does not mutate its input', () => {
    const input = [
      { start: 0, end: 512 },
      { start: 1024, end: 1536 }, // gap 512
      { start: 2561, end: 3072 }, // gap 1025
    ];
    const copy = input.map((r) => ({ ...r }));
    expect(coalesce(input, 512)).toEqual([
      { start: 0, end: 1536 },
      { start: 2561, end: 3072 },
    ]);
    expect(coalesce(input, 1025)).toEqual([{ start: 0, end: 3072 }]);
    expect(coalesce(input, 0)).toEqual(input);
    expect(coalesce([], 100)).toEqual([]);
    expect(input).toEqual(copy);
  });
});

// ---- differingPages -------------------------------------------------------------------------

describe('bridgeGaps', () => {
  const U = 2048;

  it('covers the writes, adds only allocated bytes, and merges exactly the short allocated gaps', () => {
    fc.assert(
      fc.property(arbNormalizedList(U, 12), arbNormalizedList(U, 12), fc.integer({ min: 0, max: 64 }), (writes, allocated, maxGap) => {
        const out = bridgeGaps(writes, allocated, maxGap);
        expect(isNormalized(out)).toBe(true);
        const inWrites = toBits(writes, U);
        const inAllocated = toBits(allocated, U);
        const covered = toBits(out, U);
        // Covers every write; every added byte was allocated (read from the source).
        expect(inWrites.flatMap((w, b) => (w && !covered[b] ? [b] : []))).toEqual([]);
        expect(covered.flatMap((c, b) => (c && !inWrites[b] && !inAllocated[b] ? [b] : []))).toEqual([]);
        // What stays apart is a gap that is too long or not wholly allocated.
        for (let i = 1; i < out.length; i++) {
          const gap = { start: (out[i - 1] as ByteRange).end, end: (out[i] as ByteRange).start };
          const allAllocated = inAllocated.slice(gap.start, gap.end).every(Boolean);
          expect(gap.end - gap.start > maxGap || !allAllocated).toBe(true);
        }
      }),
      RUNS,
    );
  });
});

describe('settleAll', () => {
  it('waits for every promise before throwing the first failure, with the others attached', async () => {
    let slowDone = false;
    const slow = new Promise<void>((resolve) => setTimeout(() => { slowDone = true; resolve(); }, 20));
    const error = await settleAll([Promise.reject(new Error('a')), slow, Promise.reject(new Error('b'))]).catch((e: unknown) => e);
    expect(slowDone).toBe(true);
    expect(error).toMatchObject({ message: 'a', others: [expect.objectContaining({ message: 'b' })] });
    await expect(settleAll([Promise.resolve(1)])).resolves.toBeUndefined();
  });
});

describe('prefetchInOrder', () => {
  it('yields in order with at most `ahead` fetches in flight', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), async (delays, ahead) => {
        let inFlight = 0;
        let most = 0;
        const fetch = async (i: number): Promise<number> => {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((r) => setTimeout(r, delays[i]));
          inFlight--;
          return i * 2;
        };
        const out: number[] = [];
        for await (const v of prefetchInOrder(delays.map((_, i) => i), fetch, ahead)) out.push(v);
        expect(out).toEqual(delays.map((_, i) => i * 2));
        expect(most).toBeLessThanOrEqual(ahead);
      }),
      { numRuns: 40 },
    );
  });
});

describe('differingPages', () => {
  const MAX_PAGES = 16;

  /** Buffers of n pages that differ at chosen pages (one byte each), and the buffer's disk offset. */
  const arbBuffers = fc
    .record({
      pages: fc.integer({ min: 1, max: MAX_PAGES }),
      offsetPages: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1 << 20 })),
      seed: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      edits: fc.array(
        fc.record({ page: fc.nat(MAX_PAGES - 1), at: fc.nat(PAGE_BYTES - 1), delta: fc.integer({ min: 1, max: 255 }) }),
        { maxLength: 8 },
      ),
      ranges: arbNormalizedList(MAX_PAGES, 6),
    })
    .map(({ pages, offsetPages, seed, edits, ranges }) => {
      const bytes = pages * PAGE_BYTES;
      const data = Buffer.alloc(bytes);
      for (let i = 0; i < bytes; i++) data[i] = (seed[i % seed.length] ?? 0) ^ (i >> 6);
      const base = Buffer.from(data);
      for (const e of edits) {
        if (e.page >= pages) continue;
        const i = e.page * PAGE_BYTES + e.at;
        base[i] = ((base[i] ?? 0) + e.delta) & 0xff;
      }
      const offset = offsetPages * PAGE_BYTES;
      const inBuffer = ranges
        .filter((r) => r.start < pages)
        .map((r) => ({ start: offset + r.start * PAGE_BYTES, end: offset + Math.min(r.end, pages) * PAGE_BYTES }));
      return { data, base, offset, ranges: inBuffer, pages };
    });

  /** Naive model: byte-by-byte comparison of every page inside the ranges. */
  function modelDiffering(ranges: readonly ByteRange[], data: Buffer, base: Buffer, offset: number, pages: number): ByteRange[] {
    const differs = new Array<boolean>(pages).fill(false);
    for (const r of ranges) {
      for (let p = (r.start - offset) / PAGE_BYTES; p < (r.end - offset) / PAGE_BYTES; p++) {
        for (let i = p * PAGE_BYTES; i < (p + 1) * PAGE_BYTES; i++) {
          if (data[i] !== base[i]) {
            differs[p] = true;
            break;
          }
        }
      }
    }
    return fromBits(differs, PAGE_BYTES).map((r) => ({ start: r.start + offset, end: r.end + offset }));
  }

  it('equals a per-page byte comparison inside the ranges, as a normalized list', () => {
    fc.assert(
      fc.property(arbBuffers, ({ data, base, offset, ranges, pages }) => {
        const out = differingPages(ranges, data, base, offset);
        expect(out).toEqual(modelDiffering(ranges, data, base, offset, pages));
        expect(isNormalized(out)).toBe(true);
      }),
      RUNS,
    );
  });

  it('reports nothing for equal buffers and a single page for a one-byte difference', () => {
    const data = Buffer.alloc(4 * PAGE_BYTES, 7);
    const base = Buffer.from(data);
    const offset = 8 * 1024 * 1024;
    const all = [{ start: offset, end: offset + 4 * PAGE_BYTES }];
    expect(differingPages(all, data, base, offset)).toEqual([]);
    base[2 * PAGE_BYTES + 511] = 0; // last byte of page 2
    expect(differingPages(all, data, base, offset)).toEqual([{ start: offset + 2 * PAGE_BYTES, end: offset + 3 * PAGE_BYTES }]);
    // Outside the ranges a difference is not looked at.
    expect(differingPages([{ start: offset, end: offset + 2 * PAGE_BYTES }], data, base, offset)).toEqual([]);
  });
});

// ---- forEachBounded -------------------------------------------------------------------------

/** Yields to the event loop `n` times (a random, short, real asynchronous delay). */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

async function* asAsync<T>(items: readonly T[], delays: readonly number[]): AsyncGenerator<T> {
  for (const [i, item] of items.entries()) {
    await ticks(delays[i % delays.length] ?? 0);
    yield item;
  }
}

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('forEachBounded', () => {
  it('processes every item exactly once with never more than `concurrency` in flight', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }),
        async (delays, concurrency, asyncSource, pullDelays) => {
          const items = delays.map((_, i) => i);
          const seen: number[] = [];
          let inFlight = 0;
          let maxInFlight = 0;
          const source = asyncSource ? asAsync(items, pullDelays) : items;
          await forEachBounded(source, concurrency, async (item) => {
            inFlight++;
            maxInFlight = Math.max(maxInFlight, inFlight);
            await ticks(delays[item] ?? 0);
            seen.push(item);
            inFlight--;
          });
          expect(inFlight).toBe(0);
          expect(maxInFlight).toBeLessThanOrEqual(concurrency);
          expect([...seen].sort((a, b) => a - b)).toEqual(items);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never calls next() on an async iterator while an earlier call is still pending', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
        async (count, concurrency, pullDelays) => {
          let pending = false;
          let overlapped = false;
          let position = 0;
          // A hand-written iterator (unlike an async generator, it does not queue calls itself).
          const source: AsyncIterable<number> = {
            [Symbol.asyncIterator]: () => ({
              async next(): Promise<IteratorResult<number>> {
                if (pending) overlapped = true;
                pending = true;
                await ticks(pullDelays[position % pullDelays.length] ?? 0);
                pending = false;
                return position < count ? { done: false, value: position++ } : { done: true, value: undefined };
              },
            }),
          };
          const seen: number[] = [];
          await forEachBounded(source, concurrency, async (item) => {
            await ticks(1);
            seen.push(item);
          });
          expect(overlapped).toBe(false);
          expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fills every slot when the work is slow', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    await forEachBounded(Array.from({ length: 10 }, (_, i) => i), 3, async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await ticks(3);
      inFlight--;
    });
    expect(maxInFlight).toBe(3);
  });

  it('pulls lazily: an infinite source stops soon after the work fails, with that error', async () => {
    let pulled = 0;
    function* naturals(): Generator<number> {
      for (let i = 0; ; i++) {
        pulled++;
        yield i;
      }
    }
    const failure = new Error('item 5 failed');
    const error = await rejectionOf(
      forEachBounded(naturals(), 2, async (item) => {
        if (item === 5) throw failure;
        await ticks(item % 3);
      }),
    );
    expect(error).toBe(failure);
    // Items 0-5, plus the one the other slot may hold when item 5 fails.
    expect(pulled).toBeGreaterThanOrEqual(6);
    expect(pulled).toBeLessThanOrEqual(7);
  });

  it('stops soon after a failure whatever the timing, and reports the first failure', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
        async (concurrency, failAt, delays) => {
          let pulled = 0;
          function* naturals(): Generator<number> {
            for (let i = 0; ; i++) {
              pulled++;
              yield i;
            }
          }
          const error = await rejectionOf(
            forEachBounded(naturals(), concurrency, async (item) => {
              await ticks(delays[item % delays.length] ?? 0);
              if (item >= failAt) throw new Error(`item ${item} failed`);
            }),
          );
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).message).toMatch(/^item \d+ failed$/);
          expect(pulled).toBeLessThanOrEqual(failAt + 1 + concurrency);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('propagates an error thrown by the iterator itself (sync and async sources)', async () => {
    const broken = new Error('listing failed');
    const processed: number[] = [];
    function* syncSource(): Generator<number> {
      yield 1;
      yield 2;
      throw broken;
    }
    async function* asyncSource(): AsyncGenerator<number> {
      yield 1;
      await ticks(1);
      yield 2;
      throw broken;
    }
    for (const source of [syncSource(), asyncSource()]) {
      processed.length = 0;
      const error = await rejectionOf(
        forEachBounded(source, 3, async (item) => {
          await ticks(1);
          processed.push(item);
        }),
      );
      expect(error).toBe(broken);
      expect(processed.sort()).toEqual([1, 2]);
    }
  });

  it('attaches later failures to the first one as `others`', async () => {
    const error = await rejectionOf(
      forEachBounded([0, 1, 2], 3, async (item) => {
        await ticks(item);
        throw new Error(`item ${item}`);
      }),
    );
    expect((error as Error).message).toBe('item 0');
    expect(((error as Error & { others?: Error[] }).others ?? []).map((e) => e.message)).toEqual(['item 1', 'item 2']);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects concurrency %p without pulling an item', async (concurrency) => {
    let pulled = 0;
    function* counting(): Generator<number> {
      pulled++;
      yield 1;
    }
    const error = await rejectionOf(forEachBounded(counting(), concurrency, async () => undefined));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/concurrency must be a positive integer/);
    expect(pulled).toBe(0);
  });
});

// ---- vault layout ---------------------------------------------------------------------------

const DISK_KEY_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const arbDiskKey = fc.stringMatching(DISK_KEY_PATTERN);
/** Every instant toISOString writes with a four-digit year. */
const arbDate = fc.date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true });

const expectInvalidArgument = (fn: () => unknown): DeltavaultError => expectDeltavaultError(fn, 'INVALID_ARGUMENT');

describe('recovery point ids', () => {
  it('round-trip through parseRecoveryPointId', () => {
    fc.assert(
      fc.property(arbDiskKey, arbDate, (diskKey, date) => {
        const id = recoveryPointId(diskKey, date);
        const parsed = parseRecoveryPointId(id);
        expect(parsed.diskKey).toBe(diskKey);
        expect(parsed.createdAt.getTime()).toBe(date.getTime());
        expect(recoveryPointId(parsed.diskKey, parsed.createdAt)).toBe(id);
      }),
      RUNS,
    );
  });

  it('sort like their times within one disk', () => {
    fc.assert(
      fc.property(arbDiskKey, arbDate, arbDate, (diskKey, a, b) => {
        const ia = recoveryPointId(diskKey, a);
        const ib = recoveryPointId(diskKey, b);
        expect(ia < ib).toBe(a.getTime() < b.getTime());
        expect(ia === ib).toBe(a.getTime() === b.getTime());
      }),
      RUNS,
    );
  });

  it('has the documented shape', () => {
    expect(recoveryPointId('disk-1', new Date('2024-03-05T07:08:09.010Z'))).toBe('disk-1.20240305T070809010Z');
  });

  it('rejects malformed ids with INVALID_ARGUMENT', () => {
    for (const bad of ['', 'disk-1', 'disk-1.2024-03-05T07:08:09.010Z', 'Disk.20240305T070809010Z', '-d.20240305T070809010Z', 'd.20240305T070809Z']) {
      expectInvalidArgument(() => parseRecoveryPointId(bad));
    }
  });
});

describe('assertDiskKey', () => {
  /** Naive model: 1-63 characters from [a-z0-9-], no hyphen at either end. */
  function isValidDiskKey(key: string): boolean {
    if (key.length < 1 || key.length > 63) return false;
    for (const c of key) if (!'abcdefghijklmnopqrstuvwxyz0123456789-'.includes(c)) return false;
    return !key.startsWith('-') && !key.endsWith('-');
  }

  it('accepts exactly the keys of the naive model', () => {
    const unit = fc.constantFrom('a', 'z', '0', '9', '-', '-', 'A', '/', '.', '_', ' ', 'é');
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit, maxLength: 8 }), fc.string({ unit, minLength: 60, maxLength: 66 }), arbDiskKey), (key) => {
        if (isValidDiskKey(key)) expect(() => assertDiskKey(key)).not.toThrow();
        else expectInvalidArgument(() => assertDiskKey(key));
      }),
      RUNS,
    );
  });

  it.each([
    ['uppercase', 'Disk1'],
    ['a slash', 'vm1/os'],
    ['dot-dot', '..'],
    ['a path escape', '../other'],
    ['64 characters', 'a'.repeat(64)],
    ['empty', ''],
    ['a leading hyphen', '-disk'],
    ['a trailing hyphen', 'disk-'],
  ])('rejects a key with %s (INVALID_ARGUMENT)', (_what, key) => {
    const error = expectInvalidArgument(() => assertDiskKey(key));
    expect(error.message).toMatch(/^disk key: /);
  });

  it('accepts 1 and 63 characters and inner hyphens', () => {
    for (const key of ['a', '0', 'a'.repeat(63), 'vm-01-os-disk']) expect(() => assertDiskKey(key)).not.toThrow();
  });
});
