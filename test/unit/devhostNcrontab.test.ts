/** Timer schedules: NCRONTAB with seconds (and five fields), TimeSpan intervals, validation. */
import { expandField, parseSchedule, ScheduleError, shortestIntervalInMs } from '../../src/devhost/ncrontab';

const at = (iso: string): Date => new Date(iso);
const nextN = (expression: string, fromIso: string, n: number, timeZone?: string): string[] => {
  const schedule = parseSchedule(expression, timeZone);
  const out: string[] = [];
  for (let t = at(fromIso); out.length < n; ) {
    t = schedule.next(t);
    out.push(t.toISOString());
  }
  return out;
};

describe('NCRONTAB schedules', () => {
  test('six fields, seconds first: every 2 seconds', () => {
    expect(nextN('*/2 * * * * *', '2024-01-01T00:00:00.500Z', 3)).toEqual([
      '2024-01-01T00:00:02.000Z',
      '2024-01-01T00:00:04.000Z',
      '2024-01-01T00:00:06.000Z',
    ]);
  });

  test('next is strictly after the given time', () => {
    expect(nextN('0 */5 * * * *', '2024-01-01T00:05:00.000Z', 1)).toEqual(['2024-01-01T00:10:00.000Z']);
  });

  test('ranges, lists, steps and names', () => {
    expect(nextN('0 30 9-17/4 * * MON-FRI', '2024-01-05T16:00:00Z', 3)).toEqual([
      '2024-01-05T17:30:00.000Z', // Friday
      '2024-01-08T09:30:00.000Z', // Monday
      '2024-01-08T13:30:00.000Z',
    ]);
    expect(nextN('15,45 0 0 1 JAN,jul *', '2024-01-01T00:00:20Z', 3)).toEqual([
      '2024-01-01T00:00:45.000Z',
      '2024-07-01T00:00:15.000Z',
      '2024-07-01T00:00:45.000Z',
    ]);
  });

  test('five fields have no seconds: they fire at second 0', () => {
    expect(nextN('*/15 * * * *', '2024-01-01T00:00:01Z', 2)).toEqual(['2024-01-01T00:15:00.000Z', '2024-01-01T00:30:00.000Z']);
  });

  test('day of month and day of week together must both hold (NCRONTAB, unlike Unix cron)', () => {
    // Friday the 13th: the next after 2024-01-01 is September 2024.
    expect(nextN('0 0 0 13 * 5', '2024-01-01T00:00:00Z', 2)).toEqual(['2024-09-13T00:00:00.000Z', '2024-12-13T00:00:00.000Z']);
  });

  test('a time zone shifts the schedule (WEBSITE_TIME_ZONE)', () => {
    expect(nextN('0 0 9 * * *', '2024-01-01T00:00:00Z', 1, 'Europe/Paris')).toEqual(['2024-01-01T08:00:00.000Z']);
    expect(nextN('0 0 9 * * *', '2024-07-01T00:00:00Z', 1, 'Europe/Paris')).toEqual(['2024-07-01T07:00:00.000Z']);
  });

  test('a TimeSpan schedule is an interval', () => {
    expect(nextN('00:00:30', '2024-01-01T00:00:00Z', 2)).toEqual(['2024-01-01T00:00:30.000Z', '2024-01-01T00:01:00.000Z']);
    expect(nextN('1.00:00:00', '2024-01-01T00:00:00Z', 1)).toEqual(['2024-01-02T00:00:00.000Z']);
  });

  test('the shortest interval decides whether the status is monitored by default', () => {
    expect(shortestIntervalInMs(parseSchedule('*/2 * * * * *'))).toBe(2000);
    expect(shortestIntervalInMs(parseSchedule('0 */5 * * * *'))).toBe(300_000);
  });

  test.each([
    ['* * * *', /expected 6 fields/],
    ['* * * * * * *', /expected 6 fields/],
    ['60 * * * * *', /second field: 60 is outside 0-59/],
    ['0 0 24 * * *', /hour field: 24 is outside 0-23/],
    ['0 0 0 0 * *', /day field: 0 is outside 1-31/],
    ['0 0 0 * 13 *', /month field: 13 is outside 1-12/],
    ['0 0 0 * * 7', /day of week field: 7 is outside 0-6/],
    ['0 0 0 L * *', /day field: "L" is not a number/],
    ['0 0 0 * * 5#2', /day of week field: "5#2" is not valid/],
    ['0 0 0 ? * *', /day field: "\?" is not valid/],
    ['0 0 0 * FOO *', /month field: "FOO" is not a number or a name/],
    ['0 0 10-2 * * *', /range 10-2 runs backwards/],
    ['0 0 0 31 2 *', /invalid schedule/],
  ])('refuses %s', (expression, problem) => {
    expect(() => parseSchedule(expression)).toThrow(ScheduleError);
    expect(() => parseSchedule(expression)).toThrow(problem);
  });

  test('fields expand to the values they allow', () => {
    const dow = { name: 'day of week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] };
    expect([...expandField('MON-WED,sat', dow, 'x')]).toEqual([1, 2, 3, 6]);
    expect([...expandField('*/3', dow, 'x')]).toEqual([0, 3, 6]);
    expect([...expandField('2/2', dow, 'x')]).toEqual([2, 4, 6]);
  });
});
