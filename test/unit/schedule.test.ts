/** Policy schedules (src/config/schedule.ts): six-field NCRONTAB, checked with cron-parser, at
 *  most once every 10 s. The frequency rule is checked against the occurrences cron-parser lists. Pure. */
import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { MIN_SCHEDULE_INTERVAL_MS, scheduleMeaningProblem, scheduleProblem, scheduleSyntaxProblem } from '../../src/config/schedule';

describe('valid schedules', () => {
  test.each([
    '0 */1 * * * *',
    '0 0 2 * * *',
    '*/10 * * * * *',
    '0,30 * * * * *',
    '0 30 1 * * SUN',
    '0 30 1 * * sun-sat',
    '0 0 0 1 JAN,jul *',
    '15,45 * 8-18 * * MON-FRI',
    '5/20 * * * * *',
    '0 0 0 29 2 *',
    '0 0 0 13 * 5',
    '00 00 00 * * *',
    '0  0  2  *  *  *',
    '0,55 0,59 3 * * *',
    '58 59 * * * *',
  ])('%s', (schedule) => {
    expect(scheduleProblem(schedule)).toBeUndefined();
  });
});

describe('invalid schedules, each with a reason', () => {
  test.each<[string, RegExp]>([
    ['0 2 * * *', /has 5 fields.*did you mean "0 0 2 \* \* \*"\?/],
    ['0 0 2 * * * 2030', /has 7 fields/],
    ['', /has 0 fields/],
    ['0 0 2 ? * MON', /\?, L, W, # or H/],
    ['0 0 2 L * *', /\?, L, W, # or H/],
    ['0 0 2 * * 5#3', /\?, L, W, # or H/],
    ['H 0 2 * * *', /\?, L, W, # or H/],
    [' 0 0 2 * * *', /separated by spaces/],
    ['0\t0 2 * * * *', /has 7 fields|separated by spaces/],
    ['0 0 2 * * *\n', /separated by spaces/],
    ['0 0 2 1.5 * *', /is not NCRONTAB/],
    ['60 * * * * *', /second field: 60 is outside 0-59/],
    ['0 0 24 * * *', /hour field: 24 is outside 0-23/],
    ['0 0 0 0 * *', /day field: 0 is outside 1-31/],
    ['0 0 0 * 13 *', /month field: 13 is outside 1-12/],
    ['0 0 0 * * 7', /day-of-week field: 7 is outside 0-6 \(Sunday is 0\)/],
    ['0 MON * * * *', /minute field: "MON" is not a number \(names are only/],
    ['0 0 0 * FOO *', /month field: "FOO" is not a number or one of JAN/],
    ['0 0 0 * * 5-1', /day-of-week field: the range 5-1 runs backwards/],
    ['*/0 * * * * *', /second field: a step must be at least 1/],
    ['0 0 0 31 2 *', /can fire/],
    ['0 0 0 30,31 2 *', /can fire/],
    ['* * * * * *', /fires every 1 s/],
    ['*/5 * * * * *', /fires every 5 s/],
    ['0,55 * * * * *', /fires every 5 s/],
    ['0,55 59,0 * * * *', /fires every 5 s/],
  ])('%j', (schedule, reason) => {
    expect(scheduleProblem(schedule)).toMatch(reason);
  });

  test('syntax problems come from the pattern alone; the meaning is checked only on valid syntax', () => {
    expect(scheduleSyntaxProblem('99 99 99 99 99 99')).toBeUndefined();
    expect(scheduleMeaningProblem('99 99 99 99 99 99')).toMatch(/second field: 99/);
  });
});

/**
 * The shortest gap between consecutive occurrences, as cron-parser lists them, over 25 hours from
 * noon (every hour-to-hour and the day-to-day transition), stopping at the first gap under 10 s.
 */
function shortestGapInMs(schedule: string): number {
  const start = Date.UTC(2030, 0, 1, 12);
  const it = CronExpressionParser.parse(schedule, { tz: 'UTC', currentDate: new Date(start) });
  let previous = it.next().getTime();
  let shortest = Number.POSITIVE_INFINITY;
  while (previous < start + 25 * 3_600_000 && shortest >= MIN_SCHEDULE_INTERVAL_MS) {
    const next = it.next().getTime();
    shortest = Math.min(shortest, next - previous);
    previous = next;
  }
  return shortest;
}

const listArb = (min: number, max: number) =>
  fc.uniqueArray(fc.integer({ min, max }), { minLength: 1, maxLength: 6 }).map((values) => values.sort((a, b) => a - b).join(','));

test('a schedule is refused as too frequent exactly when two of its occurrences are less than 10 s apart', () => {
  fc.assert(
    fc.property(
      fc.oneof(listArb(0, 59), fc.constantFrom('*', '*/5', '*/10', '*/15', '0-5', '50-59')),
      fc.oneof(listArb(0, 59), fc.constantFrom('*', '*/30')),
      fc.oneof(listArb(0, 23), fc.constantFrom('*', '*/2')),
      (seconds, minutes, hours) => {
        const schedule = `${seconds} ${minutes} ${hours} * * *`;
        const tooOften = shortestGapInMs(schedule) < MIN_SCHEDULE_INTERVAL_MS;
        const problem = scheduleProblem(schedule);
        expect(problem === undefined ? false : /fires every/.test(problem)).toBe(tooOften);
        if (!tooOften) expect(problem).toBeUndefined();
      },
    ),
    { numRuns: 150 },
  );
});
