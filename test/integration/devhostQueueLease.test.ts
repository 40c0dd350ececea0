/**
 * A queue handler that runs longer than the message lease: the devhost renews the lease at
 * half-time, so the message is not dequeued a second time while the handler still runs (the
 * lease is shortened to 2 s here through the in-process API; the host's is 10 minutes).
 */
import { nodeProcess } from '../../src/devhost/coreApi';
import { startDevhost, type RunningDevhost } from '../../src/devhost/devhost';
import { createWorkspace, receiveOne, sendBase64, testQueue, testStorage, uniqueQueueName, type Workspace } from '../support/devhost';

const settings: Record<string, string> = {
  WORK_QUEUE: uniqueQueueName('lease-work'),
  ENQUEUE_QUEUE: uniqueQueueName('lease-enqueue'),
  DONE_QUEUE: uniqueQueueName('lease-done'),
  FAIL_QUEUE: uniqueQueueName('lease-fail'),
  SLOW_QUEUE: uniqueQueueName('lease-slow'),
  TIMER_LOG_QUEUE: uniqueQueueName('lease-timer'),
  TIMER_SCHEDULE: '0 0 0 1 1 *',
};

let workspace: Workspace;
let devhost: RunningDevhost | undefined;
const lines: string[] = [];

beforeAll(async () => {
  workspace = createWorkspace();
  // The app reads its settings from the real process environment (environment wins over local.settings.json).
  Object.assign(nodeProcess().env, settings);
  devhost = await startDevhost({
    appDir: workspace.app(),
    port: 0,
    developmentStorage: testStorage(),
    queueMessageLeaseInMs: 2_000,
    writeLog: (line) => lines.push(line),
  });
});

afterAll(async () => {
  await devhost?.stop();
  for (const key of Object.keys(settings)) delete nodeProcess().env[key];
  workspace?.remove();
});

test('a long handler keeps its message: one invocation, dequeue count 1, then the message is gone', async () => {
  await sendBase64(testQueue(settings.SLOW_QUEUE as string), JSON.stringify({ sleepMs: 3_500 }));
  const done = JSON.parse((await receiveOne(testQueue(settings.DONE_QUEUE as string), 15_000)).text) as Record<string, unknown>;
  expect(done).toMatchObject({ slow: true, dequeueCount: 1 });
  expect(lines.filter((l) => l.includes("Executing 'slowWork'"))).toHaveLength(1);
  expect(lines.join('\n')).not.toContain('Could not renew the lease');
  // Give a re-delivery (had the lease lapsed) the chance to show up: there is none.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(lines.filter((l) => l.includes("Executing 'slowWork'"))).toHaveLength(1);
  const left = await testQueue(settings.SLOW_QUEUE as string).peekMessages({ numberOfMessages: 1 });
  expect(left.peekedMessageItems).toHaveLength(0);
});
