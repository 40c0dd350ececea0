/** The timer listener's TimerInfo and schedule status, with a stand-in invoker and status store (no I/O). */
import type { IndexedFunction } from '../../src/devhost/functionIndex';
import type { InvocationRequest, InvocationResult } from '../../src/devhost/hostTypes';
import { parseSchedule } from '../../src/devhost/ncrontab';
import type { ScheduleMonitor, ScheduleStatus } from '../../src/devhost/scheduleMonitor';
import { TimerListener, type TimerFunction } from '../../src/devhost/timerTrigger';

interface TimerInfo {
  Schedule: { AdjustForDST: boolean };
  ScheduleStatus: ScheduleStatus | null;
  IsPastDue: boolean;
}

const silent = { log: () => undefined };

function timer(options: Partial<TimerFunction> = {}): TimerFunction {
  const fn = { name: 'tick', triggerName: 'myTimer', trigger: { type: 'timerTrigger' }, bindings: {} } as unknown as IndexedFunction;
  return { fn, schedule: parseSchedule('0 0 0 1 1 *'), useMonitor: true, runOnStartup: false, ...options };
}

class MemoryMonitor implements ScheduleMonitor {
  writes: ScheduleStatus[] = [];
  constructor(public status?: ScheduleStatus) {}
  async read(): Promise<ScheduleStatus | undefined> {
    return this.status;
  }
  async write(status: ScheduleStatus): Promise<void> {
    this.status = status;
    this.writes.push(status);
  }
}

function recorder(): { calls: TimerInfo[]; invoke: (name: string, r: InvocationRequest) => Promise<InvocationResult>; next: Promise<TimerInfo> } {
  const calls: TimerInfo[] = [];
  let resolveNext!: (info: TimerInfo) => void;
  const state = {
    calls,
    next: new Promise<TimerInfo>((resolve) => (resolveNext = resolve)),
    invoke: async (_name: string, request: InvocationRequest): Promise<InvocationResult> => {
      const info = JSON.parse(request.inputData[0]?.data.json ?? 'null') as TimerInfo;
      calls.push(info);
      resolveNext(info);
      return { invocationId: 'x', outputData: [] };
    },
  };
  return state;
}

describe('timer listener', () => {
  test('runOnStartup fires at once, not past due, with the initial status when monitored', async () => {
    const rec = recorder();
    const monitor = new MemoryMonitor();
    const listener = new TimerListener(timer({ runOnStartup: true }), { invoke: rec.invoke, logger: silent, monitor });
    await listener.start();
    const info = await rec.next;
    await listener.stop();
    expect(info.IsPastDue).toBe(false);
    expect(info.Schedule).toEqual({ AdjustForDST: true });
    expect(info.ScheduleStatus).toMatchObject({ Last: '0001-01-01T00:00:00', LastUpdated: '0001-01-01T00:00:00' });
    expect(Date.parse(info.ScheduleStatus!.Next)).toBeGreaterThan(Date.now());
    // After the invocation the status moves on and is saved.
    expect(monitor.writes).toHaveLength(1);
    expect(monitor.writes[0]!.Last).not.toBe('0001-01-01T00:00:00');
  });

  test('an occurrence missed while the host was down fires once, past due', async () => {
    const rec = recorder();
    const schedule = parseSchedule('0 0 * * * *');
    const missed = schedule.next(new Date(Date.now() - 2 * 3_600_000));
    const last = new Date(missed.getTime() - 3_600_000);
    const monitor = new MemoryMonitor({ Last: last.toISOString(), Next: missed.toISOString(), LastUpdated: last.toISOString() });
    const listener = new TimerListener(timer({ schedule, runOnStartup: true }), { invoke: rec.invoke, logger: silent, monitor });
    await listener.start();
    const info = await rec.next;
    await listener.stop();
    expect(rec.calls).toHaveLength(1);
    expect(info.IsPastDue).toBe(true);
    expect(info.ScheduleStatus?.Next).toBe(missed.toISOString());
  });

  test('a changed schedule is not past due: the status starts over', async () => {
    const rec = recorder();
    const monitor = new MemoryMonitor({ Last: '2020-01-01T00:00:07.000Z', Next: '2020-01-01T00:00:09.000Z', LastUpdated: '2020-01-01T00:00:07.000Z' });
    const listener = new TimerListener(timer({ schedule: parseSchedule('0 0 0 1 1 *') }), { invoke: rec.invoke, logger: silent, monitor });
    await listener.start();
    await listener.stop();
    expect(rec.calls).toHaveLength(0);
    expect(Date.parse(monitor.status!.Next)).toBeGreaterThan(Date.now());
  });

  test('without a monitor the handler gets no schedule status', async () => {
    const rec = recorder();
    const listener = new TimerListener(timer({ useMonitor: false, runOnStartup: true }), { invoke: rec.invoke, logger: silent });
    await listener.start();
    const info = await rec.next;
    await listener.stop();
    expect(info.ScheduleStatus).toBeNull();
    expect(info.IsPastDue).toBe(false);
  });
});
