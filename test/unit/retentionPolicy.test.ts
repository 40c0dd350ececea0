import fc from 'fast-check';
import {
  evaluateRetention,
  retentionPolicySchema,
  type KeepReason,
  type PointInfo,
  type RetentionDecision,
  type RetentionPolicy,
} from '../../src/retention/retentionPolicy';
import { expectDeltavaultError } from '../support/errors';

const RUNS = { numRuns: 300 };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

/** Bases between 1950 and 2100 keep toISOString() and Date.UTC (used by the naive models) simple. */
const BASE_MIN = Date.UTC(1950, 0, 1);
const BASE_MAX = Date.UTC(2100, 0, 1);

/** Spreads chosen so points often share a day / week / month / year, and sometimes an instant. */
const SPREADS = [
  { step: 1, maxSteps: 3 }, // exact ties in createdAt
  { step: 7 * 60_000, maxSteps: 600 }, // minutes over ~3 days
  { step: HOUR, maxSteps: 24 * 40 }, // hours over ~40 days
  { step: 5 * HOUR + 123, maxSteps: 2_000 }, // ~14 months, crossing midnights at odd offsets
  { step: DAY, maxSteps: 3_000 }, // ~8 years at day granularity
  { step: 7 * DAY + 1, maxSteps: 3_000 }, // ~57 years
] as const;

const idArb = fc.string({ minLength: 1, maxLength: 4, unit: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', '0', '1') });

const pointsArb: fc.Arbitrary<PointInfo[]> = fc
  .tuple(fc.constantFrom(...SPREADS), fc.integer({ min: BASE_MIN, max: BASE_MAX }))
  .chain(([spread, base]) =>
    fc.uniqueArray(
      fc.record({
        id: idArb,
        createdAt: fc.integer({ min: 0, max: spread.maxSteps }).map((k) => new Date(base + k * spread.step)),
      }),
      { selector: (p) => p.id, maxLength: 60 },
    ),
  );

const nonEmptyPointsArb = pointsArb.filter((p) => p.length > 0);

const countArb = fc.integer({ min: 0, max: 25 });
const policyArb: fc.Arbitrary<RetentionPolicy> = fc
  .record(
    {
      keepLast: fc.integer({ min: 1, max: 25 }),
      daily: countArb,
      weekly: countArb,
      monthly: countArb,
      yearly: countArb,
      instantRestoreDays: fc.integer({ min: 0, max: 30 }),
    },
    { requiredKeys: [] },
  )
  .filter((p) => [p.keepLast, p.daily, p.weekly, p.monthly, p.yearly].some((n) => (n ?? 0) > 0));

const nowArb = fc.integer({ min: BASE_MIN, max: BASE_MAX + 100 * 365 * DAY }).map((ms) => new Date(ms));

// ---------------------------------------------------------------------------------------------
// Naive models (deliberately written differently from the implementation)
// ---------------------------------------------------------------------------------------------

/** Newest first, equal instants by id descending. */
function naiveOrder(points: readonly PointInfo[]): PointInfo[] {
  return [...points].sort((a, b) => {
    const dt = b.createdAt.getTime() - a.createdAt.getTime();
    if (dt !== 0) return dt;
    return a.id === b.id ? 0 : a.id < b.id ? 1 : -1;
  });
}

/** Classic ISO-8601 week: move to the Thursday of the date's week; its year is the week-year. */
function naiveIsoWeek(d: Date): { year: number; week: number } {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const isoDay = t.getUTCDay() === 0 ? 7 : t.getUTCDay(); // Monday = 1 .. Sunday = 7
  t.setUTCDate(t.getUTCDate() + 4 - isoDay);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / DAY + 1) / 7);
  return { year: t.getUTCFullYear(), week };
}

type BucketRule = 'daily' | 'weekly' | 'monthly' | 'yearly';
const BUCKET_RULES: readonly BucketRule[] = ['daily', 'weekly', 'monthly', 'yearly'];
const NAIVE_KEY: Record<BucketRule, (d: Date) => string> = {
  daily: (d) => d.toISOString().slice(0, 10),
  weekly: (d) => {
    const { year, week } = naiveIsoWeek(d);
    return `${year}-W${week}`;
  },
  monthly: (d) => d.toISOString().slice(0, 7),
  yearly: (d) => d.toISOString().slice(0, 4),
};

/** The newest point of each of the n newest distinct buckets. */
function naiveBucketKeep(points: readonly PointInfo[], rule: BucketRule, n: number): Set<string> {
  const seen = new Set<string>();
  const kept = new Set<string>();
  for (const p of naiveOrder(points)) {
    const key = NAIVE_KEY[rule](p.createdAt);
    if (seen.has(key)) continue;
    seen.add(key);
    if (seen.size <= n) kept.add(p.id);
  }
  return kept;
}

function naiveReasons(points: readonly PointInfo[], policy: RetentionPolicy): Map<string, Set<KeepReason>> {
  const ordered = naiveOrder(points);
  const reasons = new Map<string, Set<KeepReason>>();
  const add = (id: string, r: KeepReason) => {
    const set = reasons.get(id) ?? new Set<KeepReason>();
    set.add(r);
    reasons.set(id, set);
  };
  if (ordered[0]) add(ordered[0].id, 'latest');
  ordered.slice(0, policy.keepLast ?? 0).forEach((p) => add(p.id, 'last'));
  for (const rule of BUCKET_RULES) naiveBucketKeep(points, rule, policy[rule] ?? 0).forEach((id) => add(id, rule));
  return reasons;
}

function naiveSourceSnapshots(points: readonly PointInfo[], policy: RetentionPolicy, now: Date): string[] {
  const ordered = naiveOrder(points);
  const days = policy.instantRestoreDays ?? 0;
  return ordered
    .filter((p, i) => i === 0 || (days > 0 && p.createdAt.getTime() > now.getTime() - days * DAY))
    .map((p) => p.id);
}

const keptIds = (d: RetentionDecision) => new Set(d.keep.map((k) => k.id));
const idsWithReason = (d: RetentionDecision, r: KeepReason) =>
  new Set(d.keep.filter((k) => k.reasons.includes(r)).map((k) => k.id));
const sortedIds = (s: Iterable<string>) => [...s].sort();
const NOW = new Date('2030-01-01T00:00:00Z');

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('evaluateRetention properties', () => {
  it('partitions the input exactly into keep and delete', () => {
    fc.assert(
      fc.property(pointsArb, policyArb, nowArb, (points, policy, now) => {
        const d = evaluateRetention(points, policy, now);
        const keep = d.keep.map((p) => p.id);
        const del = d.delete.map((p) => p.id);
        expect(new Set([...keep, ...del]).size).toBe(keep.length + del.length); // disjoint, no repeats
        expect(sortedIds([...keep, ...del])).toEqual(sortedIds(points.map((p) => p.id)));
        const byId = new Map(points.map((p) => [p.id, p.createdAt.getTime()]));
        for (const p of [...d.keep, ...d.delete]) expect(p.createdAt.getTime()).toBe(byId.get(p.id));
        for (const k of d.keep) expect(k.reasons.length).toBeGreaterThan(0);
      }),
      RUNS,
    );
  });

  it('always keeps the newest point, and only it, with reason latest', () => {
    fc.assert(
      fc.property(pointsArb, policyArb, nowArb, (points, policy, now) => {
        const d = evaluateRetention(points, policy, now);
        const newest = naiveOrder(points)[0];
        if (newest === undefined) {
          expect(d).toEqual({ keep: [], delete: [], keepSourceSnapshot: [] });
          return;
        }
        expect(d.keep[0]?.id).toBe(newest.id);
        expect(d.keep[0]?.reasons[0]).toBe('latest');
        expect([...idsWithReason(d, 'latest')]).toEqual([newest.id]);
      }),
      RUNS,
    );
  });

  it('keepLast N alone keeps exactly the min(N, count) newest points', () => {
    fc.assert(
      fc.property(pointsArb, fc.integer({ min: 1, max: 70 }), (points, n) => {
        const d = evaluateRetention(points, { keepLast: n }, NOW);
        const expected = naiveOrder(points).slice(0, Math.min(n, points.length));
        expect(d.keep.map((k) => k.id)).toEqual(expected.map((p) => p.id));
        d.keep.forEach((k, i) => expect(k.reasons).toEqual(i === 0 ? ['latest', 'last'] : ['last']));
        expect(d.delete).toHaveLength(points.length - expected.length);
      }),
      RUNS,
    );
  });

  describe.each(BUCKET_RULES)('%s N alone', (rule) => {
    it(`keeps exactly the newest point of each of the N newest ${rule} buckets (plus the latest)`, () => {
      fc.assert(
        fc.property(pointsArb, fc.integer({ min: 1, max: 30 }), (points, n) => {
          const d = evaluateRetention(points, { [rule]: n }, NOW);
          const model = naiveBucketKeep(points, rule, n);
          expect(sortedIds(idsWithReason(d, rule))).toEqual(sortedIds(model));
          const newest = naiveOrder(points)[0];
          const expectedKept = new Set(model);
          if (newest) expectedKept.add(newest.id);
          expect(sortedIds(keptIds(d))).toEqual(sortedIds(expectedKept));
          // Never more than one point per bucket for the rule.
          const keys = d.keep.filter((k) => k.reasons.includes(rule)).map((k) => NAIVE_KEY[rule](k.createdAt));
          expect(new Set(keys).size).toBe(keys.length);
        }),
        RUNS,
      );
    });
  });

  it('combined policies give every reason the naive model gives, and nothing else', () => {
    fc.assert(
      fc.property(pointsArb, policyArb, nowArb, (points, policy, now) => {
        const d = evaluateRetention(points, policy, now);
        const model = naiveReasons(points, policy);
        expect(sortedIds(keptIds(d))).toEqual(sortedIds(model.keys()));
        for (const k of d.keep) expect(new Set(k.reasons)).toEqual(model.get(k.id));
        const order: KeepReason[] = ['latest', 'last', 'daily', 'weekly', 'monthly', 'yearly'];
        for (const k of d.keep) expect(k.reasons).toEqual(order.filter((r) => k.reasons.includes(r)));
      }),
      RUNS,
    );
  });

  it('is monotonic: raising any count never deletes a point that was kept', () => {
    const ruleArb = fc.constantFrom('keepLast', 'daily', 'weekly', 'monthly', 'yearly', 'instantRestoreDays');
    fc.assert(
      fc.property(pointsArb, policyArb, ruleArb, fc.integer({ min: 1, max: 10 }), nowArb, (points, policy, rule, by, now) => {
        const raised: RetentionPolicy = { ...policy, [rule]: (policy[rule] ?? 0) + by };
        if (rule === 'instantRestoreDays') raised.instantRestoreDays = Math.min(30, raised.instantRestoreDays ?? 0);
        const before = evaluateRetention(points, policy, now);
        const after = evaluateRetention(points, raised, now);
        const afterKept = keptIds(after);
        for (const id of keptIds(before)) expect(afterKept.has(id)).toBe(true);
        const afterSources = new Set(after.keepSourceSnapshot);
        for (const id of before.keepSourceSnapshot) expect(afterSources.has(id)).toBe(true);
      }),
      RUNS,
    );
  });

  it('lists keep and delete newest first (ties by id descending)', () => {
    const inOrder = (xs: { id: string; createdAt: Date }[]) =>
      xs.every((x, i) => {
        const prev = xs[i - 1];
        if (prev === undefined) return true;
        const dt = prev.createdAt.getTime() - x.createdAt.getTime();
        return dt > 0 || (dt === 0 && prev.id > x.id);
      });
    fc.assert(
      fc.property(pointsArb, policyArb, nowArb, (points, policy, now) => {
        const d = evaluateRetention(points, policy, now);
        expect(inOrder(d.keep)).toBe(true);
        expect(inOrder(d.delete)).toBe(true);
      }),
      RUNS,
    );
  });

  it('keeps the source snapshot of exactly the newest point and the points inside the instant-restore window', () => {
    fc.assert(
      fc.property(pointsArb, policyArb, nowArb, (points, policy, now) => {
        const d = evaluateRetention(points, policy, now);
        expect(d.keepSourceSnapshot).toEqual(naiveSourceSnapshots(points, policy, now));
      }),
      RUNS,
    );
  });

  it('keeps source snapshots inside the window when now sits among the points', () => {
    fc.assert(
      fc.property(nonEmptyPointsArb, fc.integer({ min: 1, max: 30 }), fc.nat(), (points, days, pick) => {
        const anchor = points[pick % points.length] as PointInfo;
        const now = new Date(anchor.createdAt.getTime() + 12 * HOUR);
        const policy: RetentionPolicy = { keepLast: 1, instantRestoreDays: days };
        const d = evaluateRetention(points, policy, now);
        expect(d.keepSourceSnapshot).toEqual(naiveSourceSnapshots(points, policy, now));
        expect(d.keepSourceSnapshot).toContain(anchor.id);
      }),
      RUNS,
    );
  });

  it('does not depend on the order of the input', () => {
    fc.assert(
      fc.property(
        pointsArb.chain((points) =>
          fc.tuple(fc.constant(points), fc.shuffledSubarray(points, { minLength: points.length, maxLength: points.length })),
        ),
        policyArb,
        nowArb,
        ([points, shuffled], policy, now) => {
          expect(evaluateRetention(shuffled, policy, now)).toEqual(evaluateRetention(points, policy, now));
        },
      ),
      RUNS,
    );
  });

  it('never mutates its input', () => {
    fc.assert(
      fc.property(pointsArb, policyArb, nowArb, (points, policy, now) => {
        const snapshot = points.map((p) => ({ id: p.id, ms: p.createdAt.getTime(), date: p.createdAt }));
        const policyCopy = { ...policy };
        const nowMs = now.getTime();
        const d = evaluateRetention(Object.freeze([...points]), policy, now);
        expect(points.map((p) => ({ id: p.id, ms: p.createdAt.getTime(), date: p.createdAt }))).toEqual(snapshot);
        points.forEach((p, i) => expect(p.createdAt).toBe(snapshot[i]?.date));
        expect(policy).toEqual(policyCopy);
        expect(now.getTime()).toBe(nowMs);
        // Changing the output does not reach back into the input either.
        for (const k of [...d.keep, ...d.delete]) k.createdAt.setTime(0);
        expect(points.map((p) => p.createdAt.getTime())).toEqual(snapshot.map((s) => s.ms));
      }),
      RUNS,
    );
  });

  it('accepts every policy the schema accepts', () => {
    fc.assert(
      fc.property(policyArb, (policy) => {
        expect(retentionPolicySchema.safeParse(policy).success).toBe(true);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Examples
// ---------------------------------------------------------------------------------------------

const pt = (id: string, iso: string): PointInfo => ({ id, createdAt: new Date(iso) });

describe('ISO weeks', () => {
  it('the naive model agrees with the calendar on year boundaries', () => {
    expect(naiveIsoWeek(new Date('2024-12-30T00:00:00Z'))).toEqual({ year: 2025, week: 1 });
    expect(naiveIsoWeek(new Date('2021-01-03T23:59:59Z'))).toEqual({ year: 2020, week: 53 });
    expect(naiveIsoWeek(new Date('2021-01-04T00:00:00Z'))).toEqual({ year: 2021, week: 1 });
    expect(naiveIsoWeek(new Date('2024-12-29T12:00:00Z'))).toEqual({ year: 2024, week: 52 });
  });

  it('2024-12-30 is in ISO week 1 of 2025 (the same week as 2025-01-05)', () => {
    const points = [
      pt('sun-2025-01-05', '2025-01-05T23:59:59.999Z'),
      pt('wed-2025-01-01', '2025-01-01T08:00:00Z'),
      pt('mon-2024-12-30', '2024-12-30T00:00:00Z'),
      pt('sun-2024-12-29', '2024-12-29T23:59:59.999Z'),
      pt('mon-2024-12-23', '2024-12-23T00:00:00Z'),
    ];
    const d = evaluateRetention(points, { weekly: 10 }, NOW);
    expect([...idsWithReason(d, 'weekly')]).toEqual(['sun-2025-01-05', 'sun-2024-12-29']);
    expect(d.delete.map((p) => p.id)).toEqual(['wed-2025-01-01', 'mon-2024-12-30', 'mon-2024-12-23']);
  });

  it('2021-01-03 is in ISO week 53 of 2020 (the same week as 2020-12-28)', () => {
    const points = [
      pt('mon-2021-01-04', '2021-01-04T00:00:00Z'),
      pt('sun-2021-01-03', '2021-01-03T23:59:59Z'),
      pt('fri-2021-01-01', '2021-01-01T12:00:00Z'),
      pt('mon-2020-12-28', '2020-12-28T00:00:00Z'),
      pt('sun-2020-12-27', '2020-12-27T12:00:00Z'),
    ];
    const d = evaluateRetention(points, { weekly: 10 }, NOW);
    expect([...idsWithReason(d, 'weekly')]).toEqual(['mon-2021-01-04', 'sun-2021-01-03', 'sun-2020-12-27']);
    expect(d.delete.map((p) => p.id)).toEqual(['fri-2021-01-01', 'mon-2020-12-28']);
  });

  it('handles the extreme valid Dates without overflowing', () => {
    const points = [pt('max', '+275760-09-13T00:00:00.000Z'), pt('min', '-271821-04-20T00:00:00.000Z')];
    const d = evaluateRetention(points, { daily: 5, weekly: 5, monthly: 5, yearly: 5 }, NOW);
    expect(d.keep.map((k) => [k.id, k.reasons])).toEqual([
      ['max', ['latest', 'daily', 'weekly', 'monthly', 'yearly']],
      ['min', ['daily', 'weekly', 'monthly', 'yearly']],
    ]);
  });
});

describe('evaluateRetention examples', () => {
  it('combines rules like restic forget and reports every reason', () => {
    const points = [
      pt('a', '2024-03-10T18:00:00Z'),
      pt('b', '2024-03-10T06:00:00Z'),
      pt('c', '2024-03-09T12:00:00Z'),
      pt('d', '2024-03-01T12:00:00Z'),
      pt('e', '2024-02-15T12:00:00Z'),
      pt('f', '2023-12-31T12:00:00Z'),
      pt('g', '2023-06-01T12:00:00Z'),
    ];
    const d = evaluateRetention(points, { keepLast: 2, daily: 2, monthly: 3, yearly: 2, instantRestoreDays: 1 }, new Date('2024-03-10T12:00:00Z'));
    expect(d.keep).toEqual([
      { id: 'a', createdAt: new Date('2024-03-10T18:00:00Z'), reasons: ['latest', 'last', 'daily', 'monthly', 'yearly'] },
      { id: 'b', createdAt: new Date('2024-03-10T06:00:00Z'), reasons: ['last'] },
      { id: 'c', createdAt: new Date('2024-03-09T12:00:00Z'), reasons: ['daily'] },
      { id: 'e', createdAt: new Date('2024-02-15T12:00:00Z'), reasons: ['monthly'] },
      { id: 'f', createdAt: new Date('2023-12-31T12:00:00Z'), reasons: ['monthly', 'yearly'] },
    ]);
    expect(d.delete.map((p) => p.id)).toEqual(['d', 'g']);
    // 'a' is in the future relative to now but is still just a point (and inside the window).
    expect(d.keepSourceSnapshot).toEqual(['a', 'b']);
  });

  it('breaks ties in createdAt by id descending', () => {
    const at = '2024-05-05T05:05:05Z';
    const d = evaluateRetention([pt('m', at), pt('z', at), pt('a', at)], { keepLast: 2 }, NOW);
    expect(d.keep.map((k) => k.id)).toEqual(['z', 'm']);
    expect(d.delete.map((p) => p.id)).toEqual(['a']);
  });

  it('keeps only the newest source snapshot when instantRestoreDays is 0 or absent', () => {
    const points = [pt('future', '2031-01-01T00:00:00Z'), pt('now', NOW.toISOString()), pt('old', '2020-01-01T00:00:00Z')];
    expect(evaluateRetention(points, { keepLast: 3 }, NOW).keepSourceSnapshot).toEqual(['future']);
    expect(evaluateRetention(points, { keepLast: 3, instantRestoreDays: 0 }, NOW).keepSourceSnapshot).toEqual(['future']);
  });

  it('treats the window start as exclusive', () => {
    const edge = new Date(NOW.getTime() - 2 * DAY);
    const points = [pt('newest', NOW.toISOString()), { id: 'edge', createdAt: edge }, { id: 'inside', createdAt: new Date(edge.getTime() + 1) }];
    expect(evaluateRetention(points, { keepLast: 1, instantRestoreDays: 2 }, NOW).keepSourceSnapshot).toEqual(['newest', 'inside']);
  });

  it('returns an empty decision for no points', () => {
    expect(evaluateRetention([], { daily: 7 }, NOW)).toEqual({ keep: [], delete: [], keepSourceSnapshot: [] });
  });

  const expectInvalidArgument = (run: () => unknown, text: RegExp) => {
    expect(expectDeltavaultError(run, 'INVALID_ARGUMENT').message).toMatch(text);
  };

  it('throws INVALID_ARGUMENT on duplicate ids', () => {
    expectInvalidArgument(
      () => evaluateRetention([pt('x', '2024-01-01T00:00:00Z'), pt('y', '2024-01-02T00:00:00Z'), pt('x', '2024-01-03T00:00:00Z')], { keepLast: 1 }, NOW),
      /duplicate point id 'x'/,
    );
  });

  it('throws INVALID_ARGUMENT on an invalid Date', () => {
    expectInvalidArgument(() => evaluateRetention([pt('x', 'not a date')], { keepLast: 1 }, NOW), /points\[0\]\.createdAt/);
    expectInvalidArgument(() => evaluateRetention([pt('x', '2024-01-01T00:00:00Z')], { keepLast: 1 }, new Date(NaN)), /now/);
  });

  it('throws INVALID_ARGUMENT on a policy the schema refuses', () => {
    expectInvalidArgument(() => evaluateRetention([], {}, NOW), /keeps nothing/);
    expectInvalidArgument(() => evaluateRetention([], { daily: -1 }, NOW), /daily/);
    expectInvalidArgument(() => evaluateRetention([], { daily: 3, hourly: 2 } as RetentionPolicy, NOW), /hourly/);
  });
});

describe('retentionPolicySchema', () => {
  const issuesOf = (value: unknown) => {
    const result = retentionPolicySchema.safeParse(value);
    expect(result.success).toBe(false);
    return result.success ? [] : result.error.issues;
  };

  it('accepts a full policy', () => {
    const policy = { keepLast: 3, daily: 7, weekly: 4, monthly: 12, yearly: 0, instantRestoreDays: 30 };
    expect(retentionPolicySchema.parse(policy)).toEqual(policy);
  });

  it('refuses {} with a message naming the missing rules', () => {
    const [issue, ...rest] = issuesOf({});
    expect(rest).toEqual([]);
    for (const rule of ['keepLast', 'daily', 'weekly', 'monthly', 'yearly']) expect(issue?.message).toContain(rule);
  });

  it('refuses a policy whose rules are all 0 (it would keep nothing)', () => {
    expect(issuesOf({ daily: 0, weekly: 0, instantRestoreDays: 7 })[0]?.message).toMatch(/keeps nothing/);
  });

  it.each([['keepLast'], ['daily'], ['weekly'], ['monthly'], ['yearly'], ['instantRestoreDays']])(
    'refuses a negative %s with its path',
    (field) => {
      const issues = issuesOf({ keepLast: 1, daily: 1, [field]: -1 });
      expect(issues.map((i) => i.path)).toContainEqual([field]);
    },
  );

  it('refuses keepLast 0, fractions, non-numbers and instantRestoreDays above 30', () => {
    expect(issuesOf({ keepLast: 0 }).map((i) => i.path)).toContainEqual(['keepLast']);
    expect(issuesOf({ daily: 1.5 }).map((i) => i.path)).toContainEqual(['daily']);
    expect(issuesOf({ weekly: '4' }).map((i) => i.path)).toContainEqual(['weekly']);
    expect(issuesOf({ daily: 7, instantRestoreDays: 31 })).toEqual([
      expect.objectContaining({ path: ['instantRestoreDays'], message: expect.stringContaining('at most 30') }),
    ]);
  });

  it('refuses unknown keys, naming them', () => {
    const issues = issuesOf({ daily: 7, keepHourly: 3 });
    expect(issues).toEqual([expect.objectContaining({ code: 'unrecognized_keys', keys: ['keepHourly'], path: [] })]);
  });
});
