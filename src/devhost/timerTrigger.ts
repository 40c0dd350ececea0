/**
 * Timer triggers, following the WebJobs TimerListener: NCRONTAB (with seconds) or TimeSpan
 * schedules in UTC (or WEBSITE_TIME_ZONE); invocations of one timer never overlap; the handler
 * gets the TimerInfo the host sends — {Schedule: {AdjustForDST}, ScheduleStatus: {Last, Next,
 * LastUpdated} (only when the schedule is monitored), IsPastDue}; with `useMonitor` (default for
 * schedules of a minute or more) the status is kept in storage (scheduleMonitor.ts), and an
 * occurrence missed while the host was down fires once at start with IsPastDue; otherwise
 * `runOnStartup` fires once at start. Failed invocations follow the function's retry policy.
 */
import { devhostErrors } from './errors';
import type { IndexedFunction } from './functionIndex';
import type { HostLogger, InvocationRequest, InvocationResult } from './hostTypes';
import { parseSchedule, ScheduleError, shortestIntervalInMs, type Schedule } from './ncrontab';
import { invokeWithRetry, parseRetryOptions, type RetryOptions } from './retryPolicy';
import { DEFAULT_DATE_TIME, type ScheduleMonitor, type ScheduleStatus } from './scheduleMonitor';

export interface TimerFunction {
  fn: IndexedFunction;
  schedule: Schedule;
  useMonitor: boolean;
  runOnStartup: boolean;
  retry?: RetryOptions;
}

/** Validates every timer function's schedule before anything starts. */
export function prepareTimers(functions: readonly IndexedFunction[], timeZone: string | undefined): TimerFunction[] {
  const timers: TimerFunction[] = [];
  for (const fn of functions) {
    if (fn.kind !== 'timer') continue;
    const field = `bindings.${fn.triggerName}`;
    const file = fn.registration.entryPoint;
    if (typeof fn.trigger.schedule !== 'string') throw devhostErrors.invalidBinding(fn.name, `${field}.schedule`, 'a timer needs a schedule', file);
    let schedule: Schedule;
    try {
      schedule = parseSchedule(fn.trigger.schedule, timeZone);
    } catch (e) {
      if (e instanceof ScheduleError) throw devhostErrors.invalidBinding(fn.name, `${field}.schedule`, e.message, file);
      throw e;
    }
    const useMonitor = typeof fn.trigger.useMonitor === 'boolean' ? fn.trigger.useMonitor : shortestIntervalInMs(schedule) >= 60_000;
    timers.push({ fn, schedule, useMonitor, runOnStartup: fn.trigger.runOnStartup === true, retry: parseRetryOptions(fn.retryOptions) });
  }
  return timers;
}

export interface TimerListenerDeps {
  invoke(functionName: string, request: InvocationRequest): Promise<InvocationResult>;
  logger: HostLogger;
  /** Present when the timer is monitored. */
  monitor?: ScheduleMonitor;
}

const MAX_TIMEOUT_IN_MS = 2 ** 31 - 1;

export class TimerListener {
  #status: ScheduleStatus | undefined;
  #stopped = false;
  #timer?: NodeJS.Timeout;
  #wake?: () => void;
  #lock: Promise<void> = Promise.resolve();
  #loop?: Promise<void>;

  constructor(
    readonly timer: TimerFunction,
    private readonly deps: TimerListenerDeps,
  ) {}

  async start(): Promise<void> {
    const { fn, schedule } = this.timer;
    const { monitor, logger } = this.deps;
    const now = new Date();
    let pastDue: string | undefined;
    if (monitor) {
      let status = await monitor.read().catch((e: unknown) => {
        logger.log('warning', `Timer '${fn.name}': cannot read its schedule status (${(e as Error).message}); starting afresh`, { functionName: fn.name });
        return undefined;
      });
      if (status) {
        const expectedNext = status.Last === DEFAULT_DATE_TIME ? undefined : schedule.next(new Date(status.Last)).getTime();
        if (expectedNext !== undefined && expectedNext !== Date.parse(status.Next)) {
          // The schedule changed since the status was written: start over from now, nothing is past due.
          status = { ...status, Next: schedule.next(now).toISOString(), LastUpdated: now.toISOString() };
          await this.#save(status);
        } else if (Date.parse(status.Next) < now.getTime()) {
          pastDue = status.Next;
        }
      }
      this.#status = status;
    }
    this.#status ??= { Last: DEFAULT_DATE_TIME, Next: schedule.next(now).toISOString(), LastUpdated: DEFAULT_DATE_TIME };
    const upcoming: string[] = [];
    for (let t = now; upcoming.length < 3; ) {
      t = schedule.next(t);
      upcoming.push(t.toISOString());
    }
    logger.log(
      'information',
      `Timer '${fn.name}' schedule '${schedule.expression}'${this.timer.useMonitor ? ' (monitored)' : ''}; next occurrences: ${upcoming.join(', ')}`,
      { functionName: fn.name },
    );
    this.#loop = this.#run(pastDue);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
    await this.#loop;
  }

  /** One invocation outside the schedule (admin API), as the host does it: no status, not past due. */
  async fireNow(): Promise<void> {
    await this.#invokeOnce({ Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: false });
  }

  async #run(pastDue: string | undefined): Promise<void> {
    const { fn } = this.timer;
    if (pastDue !== undefined) {
      this.deps.logger.log('information', `Timer '${fn.name}' is past due (missed ${pastDue})`, { functionName: fn.name });
      await this.#fire({ isPastDue: true, runOnStartup: false });
    } else if (this.timer.runOnStartup) {
      await this.#fire({ isPastDue: false, runOnStartup: true });
    }
    while (!this.#stopped) {
      await this.#sleepUntil(Date.parse((this.#status as ScheduleStatus).Next));
      if (this.#stopped) break;
      await this.#fire({ isPastDue: false, runOnStartup: false });
    }
  }

  #sleepUntil(timeInMs: number): Promise<void> {
    return new Promise((resolve) => {
      const arm = (): void => {
        const delay = timeInMs - Date.now();
        if (delay <= 0 || this.#stopped) return resolve();
        this.#timer = setTimeout(arm, Math.min(delay, MAX_TIMEOUT_IN_MS));
      };
      this.#wake = resolve;
      arm();
    });
  }

  #sleep(ms: number): Promise<void> {
    return this.#sleepUntil(Date.now() + ms);
  }

  async #invokeOnce(timerInfo: object): Promise<void> {
    const { fn, retry } = this.timer;
    const request: InvocationRequest = {
      inputData: [{ name: fn.triggerName, data: { json: JSON.stringify(timerInfo) } }],
      triggerMetadata: {},
    };
    await invokeWithRetry((r) => this.deps.invoke(fn.name, r), request, retry, () => !this.#stopped, (ms) => this.#sleep(ms));
  }

  async #fire(kind: { isPastDue: boolean; runOnStartup: boolean }): Promise<void> {
    const previous = this.#lock;
    let release!: () => void;
    this.#lock = new Promise((resolve) => (release = resolve));
    await previous;
    try {
      if (this.#stopped) return;
      const status = this.#status as ScheduleStatus;
      const invocationTime = new Date();
      await this.#invokeOnce({
        Schedule: { AdjustForDST: true },
        ScheduleStatus: this.deps.monitor ? status : null,
        IsPastDue: kind.isPastDue,
      });
      // A timer that fired a little early counts as the occurrence it was scheduled for.
      let adjusted = invocationTime;
      if (!kind.isPastDue && !kind.runOnStartup && Date.parse(status.Next) > invocationTime.getTime()) adjusted = new Date(status.Next);
      this.#status = {
        Last: adjusted.toISOString(),
        Next: this.timer.schedule.next(adjusted).toISOString(),
        LastUpdated: adjusted.toISOString(),
      };
      await this.#save(this.#status);
    } finally {
      release();
    }
  }

  async #save(status: ScheduleStatus): Promise<void> {
    if (!this.deps.monitor) return;
    try {
      await this.deps.monitor.write(status);
    } catch (e) {
      this.deps.logger.log('warning', `Timer '${this.timer.fn.name}': cannot save its schedule status (${(e as Error).message})`, {
        functionName: this.timer.fn.name,
      });
    }
  }
}
