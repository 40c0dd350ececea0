/**
 * Timer-trigger schedules as the Functions host reads them: NCRONTAB with seconds,
 * `{second} {minute} {hour} {day} {month} {day-of-week}` (a five-field expression has no seconds
 * field and fires at second 0), or a TimeSpan `hh:mm:ss` interval. NCRONTAB is stricter than
 * Unix cron: no `L`, `W`, `#`, `?` or `H`; day of week 0-6 (Sunday 0) or SUN-SAT; and when both
 * day of month and day of week are restricted, an occurrence must satisfy both (cron-parser,
 * which computes the occurrences, would accept either). Times are UTC unless a time zone is
 * given (WEBSITE_TIME_ZONE). Pure.
 */
import { CronExpressionParser } from 'cron-parser';
import { parseTimeSpanInMs } from './timeSpan';

export class ScheduleError extends Error {
  constructor(expression: string, problem: string) {
    super(`invalid schedule "${expression}": ${problem}`);
    this.name = 'ScheduleError';
  }
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const FIELDS: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 6, names: DAY_NAMES },
];

function fieldValue(text: string, spec: FieldSpec, expression: string): number {
  let value: number;
  if (/^\d+$/.test(text)) value = Number(text);
  else {
    const index = spec.names?.indexOf(text.toUpperCase() as never) ?? -1;
    if (index === -1) throw new ScheduleError(expression, `${spec.name} field: "${text}" is not a number${spec.names ? ' or a name' : ''}`);
    value = spec.min + index;
  }
  if (value < spec.min || value > spec.max) {
    throw new ScheduleError(expression, `${spec.name} field: ${value} is outside ${spec.min}-${spec.max}`);
  }
  return value;
}

/** The values one NCRONTAB field allows (validating it on the way). */
export function expandField(text: string, spec: FieldSpec, expression: string): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d+))?$/.exec(part);
    if (!m) throw new ScheduleError(expression, `${spec.name} field: "${part}" is not valid NCRONTAB`);
    const [, startText, endText, stepText] = m as unknown as [string, string, string | undefined, string | undefined];
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) throw new ScheduleError(expression, `${spec.name} field: step must be at least 1`);
    let start: number;
    let end: number;
    if (startText === '*') {
      if (endText !== undefined) throw new ScheduleError(expression, `${spec.name} field: "${part}" is not valid NCRONTAB`);
      start = spec.min;
      end = spec.max;
    } else {
      start = fieldValue(startText, spec, expression);
      end = endText !== undefined ? fieldValue(endText, spec, expression) : stepText !== undefined ? spec.max : start;
      if (end < start) throw new ScheduleError(expression, `${spec.name} field: range ${part} runs backwards`);
    }
    for (let v = start; v <= end; v += step) values.add(v);
  }
  return values;
}

export interface Schedule {
  readonly kind: 'cron' | 'interval';
  readonly expression: string;
  /** The first occurrence strictly after `after`. */
  next(after: Date): Date;
}

function isRestricted(field: string): boolean {
  return field !== '*';
}

export function parseNcrontab(expression: string, timeZone?: string): Schedule {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6 && fields.length !== 5) {
    throw new ScheduleError(expression, `expected 6 fields "{second} {minute} {hour} {day} {month} {day-of-week}", got ${fields.length}`);
  }
  const six = fields.length === 5 ? ['0', ...fields] : fields;
  six.forEach((field, i) => expandField(field, FIELDS[i] as FieldSpec, expression));
  const dayOfMonth = six[3] as string;
  const dayOfWeekField = six[5] as string;
  const bothDays = isRestricted(dayOfMonth) && isRestricted(dayOfWeekField);
  const daysOfWeek = expandField(dayOfWeekField, FIELDS[5] as FieldSpec, expression);
  // cron-parser ORs restricted day-of-month and day-of-week; NCRONTAB ANDs them, so filter.
  const cronText = (bothDays ? [...six.slice(0, 5), '*'] : six).join(' ');
  const tz = timeZone ?? 'UTC';
  const iterate = (after: Date) => {
    try {
      return CronExpressionParser.parse(cronText, { currentDate: after, tz });
    } catch (e) {
      throw new ScheduleError(expression, (e as Error).message);
    }
  };
  iterate(new Date(0));
  return {
    kind: 'cron',
    expression,
    next(after: Date): Date {
      const it = iterate(after);
      for (let i = 0; i < 20_000; i++) {
        const candidate = it.next();
        if (!bothDays || daysOfWeek.has(candidate.getDay())) return candidate.toDate();
      }
      throw new ScheduleError(expression, 'it never fires');
    },
  };
}

const TIME_SPAN_SCHEDULE = /^\s*(?:\d+\.)?\d{1,2}:\d{1,2}:\d{1,2}\s*$/;

/** An NCRONTAB expression or a TimeSpan interval (fires every interval, counting from `after`). */
export function parseSchedule(expression: string, timeZone?: string): Schedule {
  if (TIME_SPAN_SCHEDULE.test(expression)) {
    const intervalInMs = parseTimeSpanInMs(expression);
    if (intervalInMs === undefined || intervalInMs <= 0) throw new ScheduleError(expression, 'the interval must be positive');
    return { kind: 'interval', expression, next: (after: Date) => new Date(after.getTime() + intervalInMs) };
  }
  return parseNcrontab(expression, timeZone);
}

/** The shortest gap between the next few occurrences (the host uses it to default `useMonitor`). */
export function shortestIntervalInMs(schedule: Schedule, from: Date = new Date()): number {
  let previous = schedule.next(from);
  let shortest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const next = schedule.next(previous);
    shortest = Math.min(shortest, next.getTime() - previous.getTime());
    previous = next;
  }
  return shortest;
}

/** Whether `timeZone` is an IANA zone this Node.js knows. */
export function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
