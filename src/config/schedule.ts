/**
 * Backup schedules: NCRONTAB expressions with six fields, `{second} {minute} {hour} {day}
 * {month} {day-of-week}`, as Azure Functions timer triggers read them (UTC unless the app sets
 * WEBSITE_TIME_ZONE). Checked in two steps: the syntax (`SCHEDULE_PATTERN`, which the JSON Schema
 * carries too), then the meaning, with cron-parser: every value inside its field's range, a
 * schedule that can fire, and never more often than every 10 seconds. Pure.
 *
 * NCRONTAB is narrower than the cron cron-parser reads: no `?`, `L`, `W`, `#` or `H`, day of week
 * 0-6 (Sunday 0) or SUN-SAT, names only in the month and day-of-week fields.
 */
import { CronExpressionParser } from 'cron-parser';

const VALUE = '(?:[0-9]{1,2}|[A-Za-z]{3})';
const PART = `(?:\\*|${VALUE}(?:-${VALUE})?)(?:/[0-9]{1,2})?`;
const FIELD = `${PART}(?:,${PART})*`;

/** The syntax of a schedule: six space-separated NCRONTAB fields (also in the JSON Schema). */
export const SCHEDULE_PATTERN = `^${FIELD}(?: +${FIELD}){5}$`;
const SCHEDULE = new RegExp(SCHEDULE_PATTERN, 'u');

/** A policy may fire at most once every this many milliseconds. */
export const MIN_SCHEDULE_INTERVAL_MS = 10_000;

const SHAPE = '"{second} {minute} {hour} {day} {month} {day-of-week}"';
const EXAMPLE = 'e.g. "0 0 2 * * *" for 02:00 UTC every day';

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELD_RULES: readonly FieldRule[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day-of-week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

/** What is wrong with the syntax of `expression`, or undefined when it matches SCHEDULE_PATTERN. */
export function scheduleSyntaxProblem(expression: string): string | undefined {
  if (SCHEDULE.test(expression)) return undefined;
  const fields = expression.trim().split(/\s+/).filter((f) => f !== '');
  if (fields.length === 5) {
    return `has 5 fields, but schedules have six, starting with seconds, as Azure Functions timers read them (${SHAPE}): did you mean "0 ${fields.join(' ')}"?`;
  }
  if (fields.length !== 6) return `has ${fields.length} field${fields.length === 1 ? '' : 's'}; a schedule is six NCRONTAB fields ${SHAPE}, ${EXAMPLE}`;
  if (/[?#]|\b\d*[LW]\b|\bLW\b|\bH\b/i.test(expression)) {
    return `uses ?, L, W, # or H, which NCRONTAB (Azure Functions timers) does not support; ${EXAMPLE}`;
  }
  if (/[^ \S]/.test(expression) || expression !== expression.trim()) {
    return `must be six fields separated by spaces, with no other whitespace (${SHAPE})`;
  }
  return `is not NCRONTAB: each field is *, a value, a range a-b, or a list of them, each optionally with /step (${SHAPE}), ${EXAMPLE}`;
}

function valueOf(token: string, rule: FieldRule): number | string {
  if (/^[0-9]+$/.test(token)) {
    const n = Number(token);
    return n < rule.min || n > rule.max ? `${rule.name} field: ${n} is outside ${rule.min}-${rule.max}${rule.name === 'day-of-week' ? ' (Sunday is 0)' : ''}` : n;
  }
  const index = rule.names?.indexOf(token.toUpperCase()) ?? -1;
  if (index >= 0) return rule.min + index;
  return rule.names
    ? `${rule.name} field: "${token}" is not a number or one of ${rule.names.join(', ')}`
    : `${rule.name} field: "${token}" is not a number (names are only for months and days of the week)`;
}

/** NCRONTAB's own limits, which cron-parser is more lenient about (day of week 7, names anywhere). */
function fieldProblem(field: string, rule: FieldRule): string | undefined {
  for (const part of field.split(',')) {
    const [range = '', step] = part.split('/');
    if (step !== undefined && Number(step) < 1) return `${rule.name} field: a step must be at least 1`;
    if (range === '*') continue;
    const [from = '', to] = range.split('-');
    const start = valueOf(from, rule);
    if (typeof start === 'string') return start;
    if (to !== undefined) {
      const end = valueOf(to, rule);
      if (typeof end === 'string') return end;
      if (end < start) return `${rule.name} field: the range ${range} runs backwards`;
    }
  }
  return undefined;
}

function hasAdjacent(values: readonly number[], max: number): { inside: boolean; wraps: boolean } {
  const set = new Set(values);
  return { inside: values.some((v) => v < max && set.has(v + 1)), wraps: set.has(max) && set.has(0) };
}

/**
 * The shortest time between two firings, in ms, from the second, minute and hour fields (days are
 * taken as consecutive when the hours allow it: the check errs towards "too often").
 */
function shortestIntervalInMs(seconds: readonly number[], minutes: readonly number[], hours: readonly number[]): number {
  const s = [...seconds].sort((a, b) => a - b);
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 1; i < s.length; i++) shortest = Math.min(shortest, (s[i] as number) - (s[i - 1] as number));
  const h = hasAdjacent(hours, 23);
  const m = hasAdjacent(minutes, 59);
  const consecutiveMinutes = m.inside || (m.wraps && (h.inside || h.wraps));
  if (consecutiveMinutes && s.length > 0) shortest = Math.min(shortest, 60 - (s[s.length - 1] as number) + (s[0] as number));
  return shortest * 1000;
}

/**
 * What is wrong with the meaning of a schedule whose syntax is valid (values out of range, a
 * schedule that never fires, one that fires more often than every 10 s), or undefined.
 */
export function scheduleMeaningProblem(expression: string): string | undefined {
  const fields = expression.split(/ +/);
  for (const [i, rule] of FIELD_RULES.entries()) {
    const problem = fieldProblem(fields[i] ?? '', rule);
    if (problem) return problem;
  }
  let parsed;
  try {
    parsed = CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: new Date(0) });
    parsed.next();
  } catch (e) {
    return `is not a schedule that can fire: ${(e as Error).message}`;
  }
  const { second, minute, hour } = parsed.fields;
  const shortestMs = shortestIntervalInMs(second.values, minute.values, hour.values);
  if (shortestMs < MIN_SCHEDULE_INTERVAL_MS) {
    return (
      `fires every ${shortestMs / 1000} s at its most frequent; a policy may fire at most once every ` +
      `${MIN_SCHEDULE_INTERVAL_MS / 1000} s (e.g. "*/10 * * * * *"; "0 */1 * * * *" is once a minute)`
    );
  }
  return undefined;
}

/** Every problem of `expression` as a schedule (syntax first), or undefined when it is valid. */
export function scheduleProblem(expression: string): string | undefined {
  return scheduleSyntaxProblem(expression) ?? scheduleMeaningProblem(expression);
}
