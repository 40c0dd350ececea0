/**
 * End to end through the local host: deltavault compiled into an app folder and run by the devhost
 * CLI against the test run's Azurite, with its own events queue. Job events are put on the queue
 * as the workflow activities put them (emitEvent: plain JSON, host.json messageEncoding none);
 * the queue-triggered consumer records them and GET /api/jobs shows the jobs with their outcome.
 * A message that is not a job event ends in `<queue>-poison` after maxDequeueCount attempts.
 *
 * The host.json copy waits 1 s instead of 30 s before a failed message is tried again, so the
 * five attempts take seconds; everything else is the repository's host.json.
 */
import { randomBytes } from 'node:crypto';
import type { QueueClient } from '@azure/storage-queue';
import { EVENT_TYPES, parseJobEvent, type JobEvent } from '../../src/events/cloudEvents';
import { emitEvent } from '../../src/events/eventEmitter';
import type { JobRecord } from '../../src/jobs/jobRecord';
import { appSettings, buildApp, cleanUpApp, randomFunctionKey, type BuiltApp } from '../support/appBuild';
import { appHttp, expectProblem } from '../support/appHttp';
import { startDevhostProcess, testQueue, type DevhostProcess } from '../support/devhost';
import { failedBackup, sampleEvent, successfulBackup } from '../support/jobEvents';
import { eventually } from '../support/eventually';

const FUNCTION_KEY = randomFunctionKey();
const T0 = new Date('2024-03-05T07:00:00.000Z');
const minute = (m: number): Date => new Date(T0.getTime() + m * 60_000);

let app: BuiltApp;
let devhost: DevhostProcess & { baseUrl: string };
let queue: QueueClient;
const http = appHttp(() => devhost.baseUrl, FUNCTION_KEY);

/** Distinct events each job has once every message sent below is recorded (duplicates collapse). */
const EVENTS_PER_JOB = { 'restore-1': 2, 'db-1': 1, 'web-2': 3, 'web-1': 5 };

/** The history once every event sent is recorded: a job's status can show before its last event does. */
async function completeHistory(): Promise<JobRecord[]> {
  return eventually(async () => {
    const list = await jobs();
    expect(Object.fromEntries(list.map((j) => [j.jobId, j.events.length]))).toEqual(EVENTS_PER_JOB);
    return list;
  });
}

async function jobs(query = ''): Promise<JobRecord[]> {
  const res = await http.request<JobRecord[]>(`/api/jobs${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return res.body;
}

beforeAll(async () => {
  app = buildApp(appSettings(FUNCTION_KEY), {
    hostJson: (json) => {
      const queues = (json.extensions as { queues: Record<string, unknown> }).queues;
      queues.visibilityTimeout = '00:00:01';
    },
  });
  queue = testQueue(app.eventsQueue);
  devhost = await startDevhostProcess(app.cli, app.dir);
});

afterAll(() => cleanUpApp(app, devhost));

describe('job events → job history → GET /api/jobs', () => {
  const webOk = successfulBackup('web-data', 'web-1', minute(0));
  const webFailed = failedBackup('web-data', 'web-2', minute(10));
  const dbSkipped = sampleEvent(EVENT_TYPES.backupSkipped, 'db-data', 'db-1', minute(20));
  const restore = [EVENT_TYPES.restoreStarted, EVENT_TYPES.restoreSucceeded].map((t, i) => sampleEvent(t, 'db-data', 'restore-1', minute(30 + i)));

  beforeAll(async () => {
    // Out of order (ends before starts) and with duplicates, as queues deliver.
    const sendOrder: JobEvent[] = [...[...webOk].reverse(), ...webFailed, dbSkipped, ...[...restore].reverse(), webOk[0] as JobEvent, webFailed[2] as JobEvent];
    for (const event of sendOrder) await emitEvent(queue, event);
  });

  test('the consumer records every job with its outcome; newest first', async () => {
    const all = await completeHistory();
    expect(all.map((j) => [j.jobId, j.status])).toEqual([
      ['restore-1', 'succeeded'],
      ['db-1', 'skipped'],
      ['web-2', 'failed'],
      ['web-1', 'succeeded'],
    ]);
    expect(all.find((j) => j.jobId === 'web-1')).toMatchObject({
      kind: 'backup',
      diskKey: 'web-data',
      startedAt: minute(0).toISOString(),
      endedAt: new Date(minute(0).getTime() + 4000).toISOString(),
      trigger: 'schedule',
      policy: 'daily',
      bytesChanged: 3 * 1024 * 1024,
    });
    expect(all.find((j) => j.jobId === 'web-2')).toMatchObject({ error: { code: 'STORAGE_FAILED' } });
    expect(all.find((j) => j.jobId === 'restore-1')).toMatchObject({ kind: 'restore', bytesWritten: 4 * 1024 * 1024 });
    expect(devhost.output()).toMatch(/already recorded/);
  });

  test('?disk=, ?status=, ?since= filter', async () => {
    await eventually(async () => expect((await jobs()).length).toBe(4));
    expect((await jobs('?disk=web-data')).map((j) => j.jobId)).toEqual(['web-2', 'web-1']);
    expect((await jobs('?status=failed')).map((j) => j.jobId)).toEqual(['web-2']);
    expect((await jobs(`?since=${encodeURIComponent(minute(15).toISOString())}`)).map((j) => j.jobId)).toEqual(['restore-1', 'db-1']);
    expect((await jobs('?disk=db-data&status=skipped')).map((j) => j.jobId)).toEqual(['db-1']);
  });

  test('a bad query is a 400 problem+json; no key is a 401', async () => {
    const problem = expectProblem(await http.request('/api/jobs?status=finished&since=last-week'), 400, 'INVALID_ARGUMENT');
    expect(problem.errors?.map((e) => e.parameter).sort()).toEqual(['since', 'status']);
    expect((await fetch(`${devhost.baseUrl}/api/jobs`)).status).toBe(401);
  });
});

describe('messages the consumer cannot process', () => {
  test('a malformed message ends in <queue>-poison after maxDequeueCount attempts, and the history is untouched', async () => {
    // Taken only once the first block's messages are all recorded, so nothing still in flight
    // from them can pass for a change made by the malformed ones.
    const before = await completeHistory();
    const notJson = `not a job event ${randomBytes(4).toString('hex')}`;
    const wrongType = JSON.stringify({ ...successfulBackup('web-data', 'web-9', T0)[0], type: 'com.example.unknown' });
    await queue.sendMessage(notJson);
    await queue.sendMessage(wrongType);

    const poison = testQueue(`${app.eventsQueue}-poison`);
    const poisoned = await eventually(async () => {
      expect(await poison.exists()).toBe(true);
      const peeked = await poison.peekMessages({ numberOfMessages: 32 });
      expect(peeked.peekedMessageItems).toHaveLength(2);
      return peeked.peekedMessageItems.map((m) => m.messageText);
    }, 60_000);
    expect(poisoned.sort()).toEqual([notJson, wrongType].sort());
    expect(devhost.output()).toMatch(/Message has reached MaxDequeueCount of 5/);
    expect(devhost.output()).toMatch(/job event: the message is not JSON/);
    expect(devhost.output()).toMatch(/type: must be one of the deltavault\.\* event types/);
    // Not retried forever: the queue is empty again, and nothing reached the history.
    await eventually(async () => expect((await queue.peekMessages()).peekedMessageItems).toHaveLength(0));
    expect(await jobs()).toEqual(before);
    expect(() => parseJobEvent(wrongType)).toThrow();
  });
});
