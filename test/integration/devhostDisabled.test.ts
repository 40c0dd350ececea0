/**
 * `AzureWebJobs.<name>.Disabled`: as in the Functions host, a disabled function's trigger is not
 * listened to. A disabled HTTP function's route answers 404, a disabled queue function leaves its
 * messages where they are, a disabled timer never fires; the other functions run as usual.
 */
import { createWorkspace, receiveOne, sendBase64, startDevhostProcess, testQueue, uniqueQueueName, type DevhostProcess, type Workspace } from '../support/devhost';

let workspace: Workspace;
let devhost: DevhostProcess & { baseUrl: string };
const queues = {
  WORK_QUEUE: uniqueQueueName('dis-work'),
  ENQUEUE_QUEUE: uniqueQueueName('dis-enqueue'),
  DONE_QUEUE: uniqueQueueName('dis-done'),
  FAIL_QUEUE: uniqueQueueName('dis-fail'),
  SLOW_QUEUE: uniqueQueueName('dis-slow'),
  TIMER_LOG_QUEUE: uniqueQueueName('dis-timer'),
};

beforeAll(async () => {
  workspace = createWorkspace();
  devhost = await startDevhostProcess(workspace.cli, workspace.app(), {
    ...queues,
    TIMER_SCHEDULE: '* * * * * *',
    'AzureWebJobs.hello.Disabled': 'true',
    'AzureWebJobs.work.Disabled': '1',
    'AzureWebJobs.tick.Disabled': 'True',
    'AzureWebJobs.echo.Disabled': 'false',
  });
});

afterAll(async () => {
  await devhost?.stop();
  workspace?.remove();
});

test('disabled functions are not triggered; the others are', async () => {
  expect((await fetch(`${devhost.baseUrl}/api/hello`)).status).toBe(404);
  expect((await fetch(`${devhost.baseUrl}/api/items/books`)).status).toBe(200);
  expect(devhost.output()).toContain("Function 'hello' is disabled (AzureWebJobs.hello.Disabled)");
  expect(devhost.output()).not.toContain("Function 'echo' is disabled");

  await sendBase64(testQueue(queues.WORK_QUEUE), JSON.stringify({ order: 1 }));
  // The enabled timer would fire every second: give it and the queue listener time to act.
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const waiting = await testQueue(queues.WORK_QUEUE).peekMessages({ numberOfMessages: 1 });
  expect(waiting.peekedMessageItems).toHaveLength(1);
  expect(await testQueue(queues.TIMER_LOG_QUEUE).exists().then(async (exists) => (exists ? (await testQueue(queues.TIMER_LOG_QUEUE).peekMessages()).peekedMessageItems.length : 0))).toBe(0);

  // The failing queue function is enabled: it runs (and poisons its message) as usual.
  await sendBase64(testQueue(queues.FAIL_QUEUE), 'still runs');
  expect((await receiveOne(testQueue(`${queues.FAIL_QUEUE}-poison`))).text).toBe('still runs');
});
