/**
 * computeDelta (src/backup/deltaPlan.ts) against a naive per-page model.
 *
 * A disk is modelled page by page: each page is allocated or not and, when allocated, holds
 * a content id (0 = a page of zeros that was written explicitly). Three states matter:
 *   prev — the last sealed source snapshot S(n-1);
 *   next — the new source snapshot S(n);
 *   base — the vault base blob as this job finds it: prev's content, except where an earlier
 *          job that failed mid-copy wrote or cleared pages ("stale pages").
 * Two kinds of reported diff:
 *   exact    — Azure: every page written since prev that is allocated in next. That covers the
 *              pages whose state changed *and* every page the failed job wrote (it copied them
 *              from a snapshot taken after prev), plus any extra pages (coarse ranges).
 *              Reported clears are arbitrary (coarse, possibly overlapping next's allocation).
 *   superset — Azurite: every page allocated in next, and no cleared range at all.
 * Inputs also carry pages beyond the disk end, which computeDelta must ignore.
 */
import fc from 'fast-check';
import { ByteRange, PAGE_BYTES, isNormalized } from '../../src/ranges/byteRange';
import { computeDelta, Delta, DeltaInputs } from '../../src/backup/deltaPlan';
import { fromBits, toBits as unitBits } from '../support/rangeModels';

/** Largest disk the model uses, in pages. */
const DISK_PAGES = 64;
/** Inputs may describe pages up to here; those at or past the disk size must be ignored. */
const UNIVERSE_PAGES = DISK_PAGES + 16;
const RUNS = { numRuns: 300 };

// ---- naive per-page model -------------------------------------------------------------------

type Bits = readonly boolean[];

interface DiskModel {
  /** allocated[p]: page p holds written data (Get Page Ranges lists it). */
  allocated: Bits;
  /** content[p]: id of page p's bytes when allocated; 0 means a page of zeros. */
  content: readonly number[];
}

const bit = (bits: Bits, p: number): boolean => bits[p] ?? false;

/** What a reader sees at page p: unallocated pages read as zeros (content id 0). */
function bytesAt(disk: DiskModel, p: number): number {
  return bit(disk.allocated, p) ? (disk.content[p] ?? 0) : 0;
}

/** Same allocation and, when allocated, the same content: nothing was written here. */
function sameState(a: DiskModel, b: DiskModel, p: number): boolean {
  return bit(a.allocated, p) === bit(b.allocated, p) && bytesAt(a, p) === bytesAt(b, p);
}

/** Runs of set pages as page-aligned byte ranges. */
const toRanges = (bits: Bits): ByteRange[] => fromBits(bits, PAGE_BYTES);

/** Page bitmap over the whole universe of page-aligned byte ranges. */
const toBits = (ranges: readonly ByteRange[]): boolean[] => unitBits(ranges, UNIVERSE_PAGES, PAGE_BYTES);

const pagesWhere = (pred: (p: number) => boolean, limit = UNIVERSE_PAGES): boolean[] =>
  Array.from({ length: UNIVERSE_PAGES }, (_, p) => p < limit && pred(p));

/**
 * Copies a delta onto the base the way copyChunk does: Put Page of next's bytes for every
 * changed page (with compare-before-write, only where the base differs), Clear Page for every
 * cleared page. Returns the base afterwards.
 */
function applyDelta(base: DiskModel, next: DiskModel, delta: Delta, compareBeforeWrite: boolean): DiskModel {
  const allocated = [...base.allocated];
  const content = [...base.content];
  const changed = toBits(delta.changed);
  const cleared = toBits(delta.cleared);
  for (let p = 0; p < UNIVERSE_PAGES; p++) {
    if (changed[p] && !(compareBeforeWrite && bytesAt(base, p) === bytesAt(next, p))) {
      allocated[p] = true;
      content[p] = bytesAt(next, p);
    }
    if (cleared[p]) {
      allocated[p] = false;
      content[p] = 0;
    }
  }
  return { allocated, content };
}

// ---- generators -----------------------------------------------------------------------------

/** A page set made of a few runs (so ranges are realistic, not only single pages). */
const arbPageSet: fc.Arbitrary<boolean[]> = fc
  .array(
    fc.tuple(
      fc.integer({ min: 0, max: UNIVERSE_PAGES - 1 }),
      fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: UNIVERSE_PAGES })),
    ),
    { maxLength: 8 },
  )
  .map((runs) => {
    const bits = new Array<boolean>(UNIVERSE_PAGES).fill(false);
    for (const [start, length] of runs) for (let p = start; p < Math.min(UNIVERSE_PAGES, start + length); p++) bits[p] = true;
    return bits;
  });

/** Few distinct contents, so "rewritten with the same bytes" and explicit zero pages happen. */
const arbContents = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: UNIVERSE_PAGES, maxLength: UNIVERSE_PAGES });

const arbDisk: fc.Arbitrary<DiskModel> = fc.record({ allocated: arbPageSet, content: arbContents });

type Fidelity = 'exact' | 'superset';

interface Scenario {
  sizePages: number;
  prev: DiskModel;
  next: DiskModel;
  base: DiskModel;
  fidelity: Fidelity;
  /** Pages an exact diff reports although nothing was written there (coarse ranges). */
  coarse: Bits;
  /** Clear ranges an exact diff reports (arbitrary). */
  reportedCleared: Bits;
}

const arbScenario: fc.Arbitrary<Scenario> = fc
  .record({
    sizePages: fc.integer({ min: 1, max: DISK_PAGES }),
    prev: arbDisk,
    next: arbDisk,
    baseAllocated: arbPageSet,
    /** Where base and prev are both allocated: keep prev's bytes, or hold the failed job's. */
    baseKeepsPrev: fc.array(fc.boolean(), { minLength: UNIVERSE_PAGES, maxLength: UNIVERSE_PAGES }),
    staleContent: arbContents,
    fidelity: fc.constantFrom<Fidelity>('exact', 'superset'),
    coarse: fc.oneof(arbPageSet, fc.constant(new Array<boolean>(UNIVERSE_PAGES).fill(false))),
    reportedCleared: fc.oneof(arbPageSet, fc.constant(new Array<boolean>(UNIVERSE_PAGES).fill(false))),
  })
  .map(({ sizePages, prev, next, baseAllocated, baseKeepsPrev, staleContent, fidelity, coarse, reportedCleared }) => {
    const base: DiskModel = {
      allocated: baseAllocated,
      content: baseAllocated.map((allocated, p) =>
        allocated && bit(prev.allocated, p) && bit(baseKeepsPrev, p) ? bytesAt(prev, p) : (staleContent[p] ?? 0),
      ),
    };
    return { sizePages, prev, next, base, fidelity, coarse, reportedCleared };
  });

/** The diff the storage service reports for a scenario (see the file header). */
function reportedDiff(s: Scenario): { changed: boolean[]; cleared: boolean[] } {
  if (s.fidelity === 'superset') {
    return { changed: [...s.next.allocated], cleared: new Array<boolean>(UNIVERSE_PAGES).fill(false) };
  }
  const changed = pagesWhere(
    (p) =>
      bit(s.next.allocated, p) &&
      (!sameState(s.prev, s.next, p) || // written on the source since prev
        !sameState(s.prev, s.base, p) || // written by the failed job: the source was written there too
        bit(s.coarse, p)),
  );
  return { changed, cleared: [...s.reportedCleared] };
}

function inputsOf(s: Scenario, incremental: boolean): DeltaInputs {
  const diff = reportedDiff(s);
  return {
    sizeBytes: s.sizePages * PAGE_BYTES,
    newAllocated: toRanges(s.next.allocated),
    baseAllocated: toRanges(s.base.allocated),
    previous: incremental
      ? { allocated: toRanges(s.prev.allocated), reportedChanged: toRanges(diff.changed), reportedCleared: toRanges(diff.cleared) }
      : undefined,
  };
}

/** Shape every output list must have: normalized, page-aligned, inside [0, sizeBytes). */
function expectWellFormed(list: readonly ByteRange[], sizeBytes: number): void {
  expect(isNormalized(list)).toBe(true);
  for (const r of list) {
    expect(r.start % PAGE_BYTES).toBe(0);
    expect(r.end % PAGE_BYTES).toBe(0);
    expect(r.end).toBeLessThanOrEqual(sizeBytes);
  }
}

/** Pages in [0, limit) where `bits` is set, as a sorted list (readable failure output). */
const listPages = (bits: Bits, limit = UNIVERSE_PAGES): number[] =>
  bits.flatMap((b, p) => (b && p < limit ? [p] : []));

// ---- properties -----------------------------------------------------------------------------

describe('computeDelta: incremental backup, against the per-page model', () => {
  it('changed ⊆ allocated(new), cleared ∩ allocated(new) = ∅, and every page of prev or base that new lacks is cleared', () => {
    fc.assert(
      fc.property(arbScenario, (s) => {
        const inputs = inputsOf(s, true);
        const delta = computeDelta(inputs);
        expectWellFormed(delta.changed, inputs.sizeBytes);
        expectWellFormed(delta.cleared, inputs.sizeBytes);
        const changed = toBits(delta.changed);
        const cleared = toBits(delta.cleared);
        const inDisk = (p: number): boolean => p < s.sizePages;
        const newAlloc = (p: number): boolean => bit(s.next.allocated, p);

        expect(listPages(pagesWhere((p) => bit(changed, p) && !newAlloc(p)))).toEqual([]);
        expect(listPages(pagesWhere((p) => bit(cleared, p) && newAlloc(p)))).toEqual([]);
        const mustClear = pagesWhere((p) => inDisk(p) && (bit(s.prev.allocated, p) || bit(s.base.allocated, p)) && !newAlloc(p));
        expect(listPages(pagesWhere((p) => bit(mustClear, p) && !bit(cleared, p)))).toEqual([]);
      }),
      RUNS,
    );
  });

  it('equals the per-page formula exactly (no page invented, none dropped)', () => {
    fc.assert(
      fc.property(arbScenario, (s) => {
        const inputs = inputsOf(s, true);
        const diff = reportedDiff(s);
        const delta = computeDelta(inputs);
        const newAlloc = (p: number): boolean => bit(s.next.allocated, p);
        const expectedChanged = pagesWhere((p) => bit(diff.changed, p) && newAlloc(p), s.sizePages);
        const expectedCleared = pagesWhere(
          (p) => (bit(s.prev.allocated, p) || bit(diff.cleared, p) || bit(s.base.allocated, p)) && !newAlloc(p),
          s.sizePages,
        );
        expect(delta.changed).toEqual(toRanges(expectedChanged));
        expect(delta.cleared).toEqual(toRanges(expectedCleared));
      }),
      RUNS,
    );
  });

  it('applied onto the base (prev plus stale pages), it yields the bytes of the new snapshot', () => {
    fc.assert(
      fc.property(arbScenario, (s) => {
        const delta = computeDelta(inputsOf(s, true));
        const after = applyDelta(s.base, s.next, delta, s.fidelity === 'superset');
        const wrongPages = listPages(pagesWhere((p) => bytesAt(after, p) !== bytesAt(s.next, p), s.sizePages));
        expect(wrongPages).toEqual([]);
        // Nothing stays allocated in the base that the new snapshot does not hold: a restore
        // (which copies allocated ranges) and the block scan see no leftovers.
        const leftovers = listPages(pagesWhere((p) => bit(after.allocated, p) && !bit(s.next.allocated, p), s.sizePages));
        expect(leftovers).toEqual([]);
        if (s.fidelity === 'exact') {
          // Without compare-before-write every page of new is (still or again) allocated.
          expect(toRanges(after.allocated.slice(0, s.sizePages))).toEqual(toRanges(s.next.allocated.slice(0, s.sizePages)));
        }
      }),
      RUNS,
    );
  });

  it('an unchanged disk whose base is intact costs no clears, and no writes after compare-before-write', () => {
    fc.assert(
      fc.property(arbDisk, fc.integer({ min: 1, max: DISK_PAGES }), fc.constantFrom<Fidelity>('exact', 'superset'), (disk, sizePages, fidelity) => {
        const s: Scenario = {
          sizePages,
          prev: disk,
          next: disk,
          base: disk,
          fidelity,
          coarse: new Array<boolean>(UNIVERSE_PAGES).fill(false),
          reportedCleared: new Array<boolean>(UNIVERSE_PAGES).fill(false),
        };
        const delta = computeDelta(inputsOf(s, true));
        expect(delta.cleared).toEqual([]);
        // exact: Azure reports nothing; superset: Azurite reports everything and the compare drops it all.
        const expectedChanged = fidelity === 'exact' ? [] : toRanges(pagesWhere((p) => bit(disk.allocated, p), sizePages));
        expect(delta.changed).toEqual(expectedChanged);
        const after = applyDelta(s.base, s.next, delta, fidelity === 'superset');
        expect(after).toEqual(s.base);
      }),
      RUNS,
    );
  });
});

describe('computeDelta: full backup (no previous snapshot)', () => {
  it('changed = allocated(new), cleared = allocated(base) − allocated(new), both clipped to the disk', () => {
    fc.assert(
      fc.property(arbScenario, (s) => {
        const inputs = inputsOf(s, false);
        const delta = computeDelta(inputs);
        expectWellFormed(delta.changed, inputs.sizeBytes);
        expectWellFormed(delta.cleared, inputs.sizeBytes);
        expect(delta.changed).toEqual(toRanges(pagesWhere((p) => bit(s.next.allocated, p), s.sizePages)));
        expect(delta.cleared).toEqual(
          toRanges(pagesWhere((p) => bit(s.base.allocated, p) && !bit(s.next.allocated, p), s.sizePages)),
        );
        // Whatever the base held (an unrelated older chain, a failed job), the result is new.
        const after = applyDelta(s.base, s.next, delta, s.fidelity === 'superset');
        expect(listPages(pagesWhere((p) => bytesAt(after, p) !== bytesAt(s.next, p), s.sizePages))).toEqual([]);
      }),
      RUNS,
    );
  });
});

// ---- examples -------------------------------------------------------------------------------

const pages = (first: number, afterLast: number): ByteRange => ({ start: first * PAGE_BYTES, end: afterLast * PAGE_BYTES });

describe('computeDelta: examples', () => {
  it('cleared pages are derived from ranges(prev) − ranges(new) even when the diff reports no clears (Azurite)', () => {
    // prev held pages 0-7; the disk then cleared pages 2-3 and 6-7. Azurite's diff lists every
    // valid range of new and no clear range; the base is empty so only prev can tell.
    const delta = computeDelta({
      sizeBytes: 16 * PAGE_BYTES,
      newAllocated: [pages(0, 2), pages(4, 6)],
      baseAllocated: [],
      previous: {
        allocated: [pages(0, 8)],
        reportedChanged: [pages(0, 2), pages(4, 6)],
        reportedCleared: [],
      },
    });
    expect(delta.changed).toEqual([pages(0, 2), pages(4, 6)]);
    expect(delta.cleared).toEqual([pages(2, 4), pages(6, 8)]);
  });

  it('pages a failed job left in the base are cleared through allocated(base) − allocated(new)', () => {
    // The chain's prev and new agree (nothing changed on the source), but a failed job wrote
    // pages 8-9 into the base before it died.
    const delta = computeDelta({
      sizeBytes: 16 * PAGE_BYTES,
      newAllocated: [pages(0, 4)],
      baseAllocated: [pages(0, 4), pages(8, 10)],
      previous: { allocated: [pages(0, 4)], reportedChanged: [], reportedCleared: [] },
    });
    expect(delta.changed).toEqual([]);
    expect(delta.cleared).toEqual([pages(8, 10)]);
  });

  it('reported changes outside the new allocation are not copied, reported clears inside it are not cleared', () => {
    const delta = computeDelta({
      sizeBytes: 16 * PAGE_BYTES,
      newAllocated: [pages(0, 4)],
      baseAllocated: [],
      previous: { allocated: [], reportedChanged: [pages(2, 10)], reportedCleared: [pages(0, 1), pages(12, 13)] },
    });
    expect(delta.changed).toEqual([pages(2, 4)]);
    expect(delta.cleared).toEqual([pages(12, 13)]);
  });

  it('ignores every range at or beyond sizeBytes (a disk that shrank, a coarse report)', () => {
    const delta = computeDelta({
      sizeBytes: 8 * PAGE_BYTES,
      newAllocated: [pages(6, 12)],
      baseAllocated: [pages(0, 2), pages(9, 20)],
      previous: { allocated: [pages(0, 20)], reportedChanged: [pages(0, 20)], reportedCleared: [pages(7, 30)] },
    });
    expect(delta.changed).toEqual([pages(6, 8)]);
    expect(delta.cleared).toEqual([pages(0, 6)]);

    const full = computeDelta({ sizeBytes: 8 * PAGE_BYTES, newAllocated: [pages(6, 12)], baseAllocated: [pages(9, 20)] });
    expect(full).toEqual({ changed: [pages(6, 8)], cleared: [] });
  });

  it('a first backup of a sparse disk copies only its allocated ranges', () => {
    const delta = computeDelta({ sizeBytes: 64 * PAGE_BYTES, newAllocated: [pages(0, 1), pages(40, 48)], baseAllocated: [] });
    expect(delta).toEqual({ changed: [pages(0, 1), pages(40, 48)], cleared: [] });
  });
});
