/**
 * The devhost's timer and queue triggers, observed only through queues as a client would: a
 * timer with a seconds schedule (its TimerInfo, schedule status, and a past-due firing after a
 * restart), a queue message processed with its dequeue count, and a failing message moved to
 * `<queue>-poison` after host.json's maxDequeueCount (2 in the fixture).
 */
import {
  createWorkspace,
  receiveOne,
  sendBase64,
  startDevhostProcess,
  testQueue,
  uniqueQueueName,
  type DevhostProcess,
  type Workspace,
} from '../support/devhost';

interface TimerReport {
  timer: { isPastDue: boolean; schedule: { adjustForDST: boolean }; scheduleStatus: { last: string; next: string; lastUpdated: string } | null };
  invocationId: string;
  firedAt: string;
}

let workspace: Workspace;
let appDir: string;
let devhost: (DevhostProcess & { baseUrl: string }) | undefined;
const queues = {
  WORK_QUEUE: uniqueQueueName('trg-work'),
  ENQUEUE_QUEUE: uniqueQueueName('trg-enqueue'),
  DONE_QUEUE: uniqueQueueName('trg-done'),
  FAIL_QUEUE: uniqueQueueName('trg-fail'),
  SLOW_QUEUE: uniqueQueueName('trg-slow'),
  TIMER_LOG_QUEUE: uniqueQueueName('trg-timer'),
};

beforeAll(async () => {
  workspace = createWorkspace();
  appDir = workspace.app();
  devhost = await startDevhostProcess(workspace.cli, appDir, { ...queues, TIMER_SCHEDULE: '*/2 * * * * *' });
});

afterAll(async () => {
  await devhost?.stop();
  workspace?.remove();
});

describe('devhost timer and queue triggers', () => {
  test('a queue message is processed: decoded, with its dequeue count, answered through the return binding', async () => {
    await sendBase64(testQueue(queues.WORK_QUEUE), JSON.stringify({ order: 17 }));
    const done = JSON.parse((await receiveOne(testQueue(queues.DONE_QUEUE))).text) as Record<string, unknown>;
    expect(done).toMatchObject({ received: { order: 17 }, dequeueCount: 1 });
    expect(typeof done.id).toBe('string');
    expect(devhost!.output()).toContain(`[work ${String(done.invocationId)}] Executed 'work' (Succeeded`);
    // The message is gone from the trigger queue once the function succeeded.
    const peeked = await testQueue(queues.WORK_QUEUE).peekMessages({ numberOfMessages: 1 });
    expect(peeked.peekedMessageItems).toHaveLength(0);
  });

  test('a message that keeps failing moves to <queue>-poison after maxDequeueCount attempts', async () => {
    await sendBase64(testQueue(queues.FAIL_QUEUE), 'poison me');
    const poisoned = await receiveOne(testQueue(`${queues.FAIL_QUEUE}-poison`));
    expect(poisoned.text).toBe('poison me');
    const failures = devhost!.output().match(/\[failing [0-9a-f-]{36}\] Executed 'failing' \(Failed/g) ?? [];
    expect(failures).toHaveLength(2);
    expect(devhost!.output()).toContain(`Message has reached MaxDequeueCount of 2. Moving message`);
    expect(devhost!.output()).toContain(`'${queues.FAIL_QUEUE}-poison'`);
    const left = await testQueue(queues.FAIL_QUEUE).peekMessages({ numberOfMessages: 1 });
    expect(left.peekedMessageItems).toHaveLength(0);
  });

  test('a timer with a seconds schedule fires every 2 s with the schedule status; a missed occurrence fires past due after a restart', async () => {
    const timerLog = testQueue(queues.TIMER_LOG_QUEUE);
    const first = JSON.parse((await receiveOne(timerLog, 10_000)).text) as TimerReport;
    const second = JSON.parse((await receiveOne(timerLog, 10_000)).text) as TimerReport;
    for (const report of [first, second]) {
      expect(report.timer.isPastDue).toBe(false);
      expect(report.timer.schedule).toEqual({ adjustForDST: true });
      expect(new Date(report.firedAt).getUTCSeconds() % 2).toBe(0);
    }
    // The status the handler sees: the occurrence being fired is `next`, the previous one `last`.
    const status = second.timer.scheduleStatus!;
    expect(Date.parse(status.next)).toBe(Date.parse(first.timer.scheduleStatus!.next) + 2000);
    expect(Date.parse(status.next) - Date.parse(status.last)).toBeGreaterThan(1000);
    expect(Date.parse(status.next) - Date.parse(status.last)).toBeLessThanOrEqual(2000);
    expect(status.lastUpdated).toBe(status.last);

    // Stop the host, let an occurrence pass, start it again: the status kept in storage makes it past due.
    expect(await devhost!.stop()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await timerLog.clearMessages();
    devhost = await startDevhostProcess(workspace.cli, appDir, { ...queues, TIMER_SCHEDULE: '*/2 * * * * *' });
    const afterRestart = JSON.parse((await receiveOne(timerLog, 10_000)).text) as TimerReport;
    expect(afterRestart.timer.isPastDue).toBe(true);
    expect(Date.parse(afterRestart.timer.scheduleStatus!.next)).toBeLessThan(Date.parse(afterRestart.firedAt));
    expect(devhost.output()).toMatch(/Timer 'tick' is past due/);
  });
});
