/**
 * Is a disk's recovery point objective met? A policy's schedule promises a recovery point per
 * fire; the RPO is met when the newest recovery point was taken at or after the most recent
 * fire, allowing the job of that fire half the schedule's interval to finish (during that grace
 * the fire before it is what counts). A disk without recovery points never meets it.
 *
 * Schedules are read in UTC, as the timers fire them unless the app sets WEBSITE_TIME_ZONE. Pure.
 */
import { CronExpressionParser } from 'cron-parser';

export interface RpoStatus {
  /** The newest recovery point was taken at or after `expectedSince`. */
  met: boolean;
  /** The time the newest recovery point must be no older than, now. */
  expectedSince: Date;
  /** The schedule's most recent fire at or before now. */
  lastFire: Date;
}

/** The two most recent fires of `schedule` at or before `now`: [latest, the one before]. */
export function lastTwoFires(schedule: string, now: Date): [Date, Date] {
  const fires = CronExpressionParser.parse(schedule, { tz: 'UTC', currentDate: new Date(now.getTime() + 1) });
  const last = fires.prev().toDate();
  const before = fires.prev().toDate();
  return [last, before];
}

/**
 * The RPO status of a disk protected by `schedule`, whose newest recovery point was taken at
 * `newestPointAt` (its source snapshot's time), or has none.
 */
export function rpoStatus(schedule: string, now: Date, newestPointAt: Date | undefined): RpoStatus {
  const [lastFire, before] = lastTwoFires(schedule, now);
  const grace = (lastFire.getTime() - before.getTime()) / 2;
  const expectedSince = now.getTime() - lastFire.getTime() < grace ? before : lastFire;
  return { met: newestPointAt !== undefined && newestPointAt.getTime() >= expectedSince.getTime(), expectedSince, lastFire };
}
