import fc from 'fast-check';
import { lastTwoFires, rpoStatus } from '../../src/retention/rpo';

const MINUTE = 60_000;
const T0 = Date.UTC(2020, 0, 1);
const T1 = Date.UTC(2030, 0, 1);

describe('lastTwoFires', () => {
  test('a fire exactly at now counts as the latest', () => {
    const now = new Date('2024-03-05T07:10:00.000Z');
    expect(lastTwoFires('0 */5 * * * *', now).map((d) => d.toISOString())).toEqual(['2024-03-05T07:10:00.000Z', '2024-03-05T07:05:00.000Z']);
  });

  test('every m minutes: the latest fire is now floored to m minutes, the one before m minutes earlier', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 5, 10, 15, 30), fc.integer({ min: T0, max: T1 }), (m, t) => {
        const [last, before] = lastTwoFires(`0 */${m} * * * *`, new Date(t));
        const floored = t - (t % (m * MINUTE));
        expect(last.getTime()).toBe(floored);
        expect(before.getTime()).toBe(floored - m * MINUTE);
      }),
      { numRuns: 200 },
    );
  });
});

describe('rpoStatus', () => {
  test('met when the newest point is no older than the latest fire; the fire before counts during half an interval', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 5, 60), fc.integer({ min: T0, max: T1 }), fc.integer({ min: -3 * 60 * MINUTE, max: 0 }), (m, t, age) => {
        const interval = m * MINUTE;
        const schedule = m === 60 ? '0 0 * * * *' : `0 */${m} * * * *`;
        const now = new Date(t);
        const last = t - (t % interval);
        const expectedSince = t - last < interval / 2 ? last - interval : last;
        const point = new Date(t + age);
        const status = rpoStatus(schedule, now, point);
        expect(status.expectedSince.getTime()).toBe(expectedSince);
        expect(status.lastFire.getTime()).toBe(last);
        expect(status.met).toBe(point.getTime() >= expectedSince);
      }),
      { numRuns: 300 },
    );
  });

  test('a disk without recovery points never meets its RPO', () => {
    expect(rpoStatus('0 0 2 * * *', new Date('2024-03-05T12:00:00Z'), undefined).met).toBe(false);
  });

  test('daily at 02:00: a point from yesterday 02:00 still counts at 02:30, not at 14:30', () => {
    const yesterday = new Date('2024-03-04T02:00:05Z');
    expect(rpoStatus('0 0 2 * * *', new Date('2024-03-05T02:30:00Z'), yesterday).met).toBe(true);
    expect(rpoStatus('0 0 2 * * *', new Date('2024-03-05T14:30:00Z'), yesterday)).toMatchObject({
      met: false,
      expectedSince: new Date('2024-03-05T02:00:00Z'),
    });
  });
});
