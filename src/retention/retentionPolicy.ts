/**
 * Retention: which recovery points of one disk to keep and which to delete, and which points'
 * source snapshots must stay. Pure (no I/O, no clock: the caller passes `now`), all in UTC.
 *
 * The bucket rules follow restic's `forget` policy: walk the points from newest to oldest; a point
 * is kept for a rule when its bucket (UTC day, ISO week, UTC month, UTC year) differs from the
 * bucket of the previous point that rule kept, while that rule has kept fewer than N buckets. So
 * each rule keeps the newest point of each of its N most recent buckets that have points.
 */
import { z } from 'zod';
import { errors } from '../errors';

export interface RetentionPolicy {
  /** Keep the N newest points. */
  keepLast?: number;
  /** Keep the newest point of each of the N most recent UTC days that have points. */
  daily?: number;
  /** Keep the newest point of each of the N most recent ISO weeks (Monday start, UTC) that have points. */
  weekly?: number;
  /** Keep the newest point of each of the N most recent UTC calendar months that have points. */
  monthly?: number;
  /** Keep the newest point of each of the N most recent UTC calendar years that have points. */
  yearly?: number;
  /** Source snapshots of points created within this many days before `now` are kept for instant restore (0 = none). */
  instantRestoreDays?: number;
}

export interface PointInfo {
  readonly id: string;
  readonly createdAt: Date;
}

export type KeepReason = 'latest' | 'last' | 'daily' | 'weekly' | 'monthly' | 'yearly';

export interface RetentionDecision {
  /** Points to keep, newest first, each with every reason that keeps it (in KeepReason order). */
  keep: { id: string; createdAt: Date; reasons: KeepReason[] }[];
  /** Points to delete, newest first. */
  delete: { id: string; createdAt: Date }[];
  /** Ids (newest first) whose source snapshot must stay: the newest point (the diff base) and every
   *  point with createdAt > now - instantRestoreDays * 24 h. */
  keepSourceSnapshot: string[];
}

const RULES = ['keepLast', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const DAY_MS = 86_400_000;
const MAX_INSTANT_RESTORE_DAYS = 30;

const count = (what: string, min: number) =>
  z
    .number({ error: `${what} must be a number` })
    .int({ error: `${what} must be a whole number` })
    .min(min, { error: `${what} must be at least ${min}` });

/**
 * A retention policy as configured. Every field is optional; counts are non-negative integers
 * (keepLast at least 1), instantRestoreDays at most 30, unknown keys are refused, and the policy
 * must keep something: at least one of keepLast/daily/weekly/monthly/yearly with a count above 0.
 */
export const retentionPolicySchema = z
  .strictObject({
    keepLast: count('keepLast', 1).optional(),
    daily: count('daily', 0).optional(),
    weekly: count('weekly', 0).optional(),
    monthly: count('monthly', 0).optional(),
    yearly: count('yearly', 0).optional(),
    instantRestoreDays: count('instantRestoreDays', 0)
      .max(MAX_INSTANT_RESTORE_DAYS, { error: `instantRestoreDays must be at most ${MAX_INSTANT_RESTORE_DAYS}` })
      .optional(),
  })
  .refine((p) => RULES.some((rule) => (p[rule] ?? 0) > 0), {
    error:
      'the retention policy keeps nothing: give at least one of keepLast, daily, weekly, monthly or yearly ' +
      'with a count above 0',
  });

// The schema and the interface must describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesInterface: Same<z.infer<typeof retentionPolicySchema>, RetentionPolicy> = true;
void schemaMatchesInterface;

type BucketRule = Exclude<(typeof RULES)[number], 'keepLast'>;

/** UTC day number (days since 1970-01-01). */
const dayNumber = (ms: number): number => Math.floor(ms / DAY_MS);

/** One key per bucket; only equality matters. */
const BUCKET_OF: Record<BucketRule, (d: Date) => number> = {
  daily: (d) => dayNumber(d.getTime()),
  // An ISO week (Monday..Sunday) is identified by its Thursday, which also fixes its ISO
  // week-year; use that Thursday's day number as the key (pure arithmetic, no Date overflow).
  weekly: (d) => {
    const day = dayNumber(d.getTime());
    const mondayBased = (((day + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday (index 3)
    return day - mondayBased + 3;
  },
  monthly: (d) => d.getUTCFullYear() * 12 + d.getUTCMonth(),
  yearly: (d) => d.getUTCFullYear(),
};

const REASON_ORDER: readonly KeepReason[] = ['latest', 'last', 'daily', 'weekly', 'monthly', 'yearly'];

function isValidDate(d: unknown): d is Date {
  return d instanceof Date && Number.isFinite(d.getTime());
}

/** Newest first; equal times ordered by id descending so the result is deterministic. */
function newestFirst(a: { id: string; ms: number }, b: { id: string; ms: number }): number {
  if (a.ms !== b.ms) return b.ms - a.ms;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

function parsePolicy(policy: RetentionPolicy): RetentionPolicy {
  const parsed = retentionPolicySchema.safeParse(policy);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      const keys = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
      return `${path === '' ? '' : `${path}: `}${issue.message}${keys}`;
    });
    throw errors.invalidArgument('retention policy', problems.join('; '));
  }
  return parsed.data;
}

/**
 * Decide which of one disk's recovery points to keep (with every reason) and which to delete,
 * and which points' source snapshots must stay. `points` may be in any order and is not modified;
 * ids must be unique and every createdAt a valid Date. The newest point is always kept ('latest').
 */
export function evaluateRetention(points: readonly PointInfo[], policy: RetentionPolicy, now: Date): RetentionDecision {
  if (!isValidDate(now)) throw errors.invalidArgument('now', 'must be a valid Date');
  const rules = parsePolicy(policy);

  const seen = new Set<string>();
  const sorted = points.map((p, index) => {
    if (typeof p?.id !== 'string') throw errors.invalidArgument(`points[${index}].id`, 'must be a string');
    if (!isValidDate(p.createdAt)) {
      throw errors.invalidArgument(`points[${index}].createdAt`, `point '${p.id}' has no valid Date`);
    }
    if (seen.has(p.id)) throw errors.invalidArgument(`points[${index}].id`, `duplicate point id '${p.id}'`);
    seen.add(p.id);
    return { id: p.id, ms: p.createdAt.getTime(), createdAt: p.createdAt };
  });
  sorted.sort(newestFirst);

  const reasons = sorted.map(() => new Set<KeepReason>());
  reasons[0]?.add('latest');

  const keepLast = rules.keepLast ?? 0;
  for (let i = 0; i < Math.min(keepLast, sorted.length); i++) reasons[i]?.add('last');

  for (const rule of ['daily', 'weekly', 'monthly', 'yearly'] as const) {
    const limit = rules[rule] ?? 0;
    const bucketOf = BUCKET_OF[rule];
    let kept = 0;
    let lastBucket: number | undefined;
    for (let i = 0; i < sorted.length && kept < limit; i++) {
      const bucket = bucketOf((sorted[i] as (typeof sorted)[number]).createdAt);
      if (bucket !== lastBucket) {
        reasons[i]?.add(rule);
        lastBucket = bucket;
        kept++;
      }
    }
  }

  const decision: RetentionDecision = { keep: [], delete: [], keepSourceSnapshot: [] };
  const windowDays = rules.instantRestoreDays ?? 0;
  const windowStart = now.getTime() - windowDays * DAY_MS;
  sorted.forEach((p, i) => {
    const why = reasons[i] as Set<KeepReason>;
    const createdAt = new Date(p.ms);
    if (why.size > 0) {
      decision.keep.push({ id: p.id, createdAt, reasons: REASON_ORDER.filter((r) => why.has(r)) });
    } else {
      decision.delete.push({ id: p.id, createdAt });
    }
    if (i === 0 || (windowDays > 0 && p.ms > windowStart)) decision.keepSourceSnapshot.push(p.id);
  });
  return decision;
}
