/**
 * The Azurite store of the Durable engine: the store contract (atomic episode commits, consumed
 * messages never coming back, large payloads in blobs) and the engine resuming from it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.mock factories run before imports
jest.mock('@azure/functions-core', () => require('../unit/durableHarness').fakeCoreModule(), { virtual: true });

import { randomBytes } from 'node:crypto';
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';
import { TableClient } from '@azure/data-tables';
import { events } from '../../src/devhost/durable/historyEvents';
import type { InboxMessage, InstanceRecord } from '../../src/devhost/durable/instanceModel';
import { storageNames, TableStore } from '../../src/devhost/durable/tableStore';
import { testStorage } from '../support/devhost';
import { newEngine, outputOf, startAndWait, TestHost, waitFor } from '../unit/durableHarness';

const BIG = 'x'.repeat(300_000);

df.app.activity('Big', { handler: (n: number) => ({ n, text: BIG }) });
df.app.orchestration('Large', function* (context: OrchestrationContext) {
  const input = context.df.getInput() as { text: string };
  const out = (yield context.df.callActivity('Big', input.text.length)) as { n: number; text: string };
  context.df.setCustomStatus({ big: out.text.slice(0, 70_000) });
  return { inputLength: out.n, outputLength: out.text.length };
});
df.app.orchestration('WaitsForGo', function* (context: OrchestrationContext) {
  return yield context.df.waitForExternalEvent('Go');
});

function hub(): string {
  return `Store${randomBytes(4).toString('hex')}`;
}

function record(instanceId: string, executionId: string): InstanceRecord {
  const now = new Date().toISOString();
  return {
    instanceId,
    name: 'Orch',
    executionId,
    runtimeStatus: 'Pending',
    input: '{"a":1}',
    output: null,
    customStatus: null,
    createdTime: now,
    lastUpdatedTime: now,
    episode: 0,
  };
}

test('storage names are valid for any hub name', () => {
  expect(storageNames('deltavault')).toEqual({ table: 'deltavaultOrchestrations', container: 'deltavault-dh-payloads' });
  const long = storageNames('A'.repeat(45));
  expect(long.table.length).toBeLessThanOrEqual(63);
  expect(long.container.length).toBeLessThanOrEqual(63);
});

test('commits episodes atomically and never hands back a consumed message', async () => {
  const hubName = hub();
  const store = new TableStore({ connectionString: testStorage(), hubName });
  await store.init();
  const now = new Date().toISOString();
  const start: InboxMessage = { key: 'e1~start', executionId: 'e1', seq: 1, event: events.executionStarted(now, { name: 'Orch', input: '{"a":1}', instanceId: 'i1', executionId: 'e1' }) };
  await store.createInstance(record('i1', 'e1'), [start]);
  const raised: InboxMessage = { key: 'event~1', seq: 2, event: events.eventRaised(now, 'Go', '"big"') };
  await store.enqueue('i1', raised);
  await store.enqueue('i1', raised); // idempotent by key

  let loaded = await store.loadInstance('i1');
  expect(loaded?.inbox.map((m) => m.key)).toEqual(['e1~start', 'event~1']);

  const running = { ...record('i1', 'e1'), runtimeStatus: 'Running' as const, episode: 1, customStatus: '"c"' };
  await store.commitEpisode('i1', {
    record: running,
    executionId: 'e1',
    episode: 0,
    events: [events.orchestratorStarted(now), start.event, events.taskScheduled(now, 0, 'A', '1'), events.orchestratorCompleted(now)],
    processedKeys: ['e1~start'],
    newMessages: [],
  });
  // A crash between the commit and the deletion of a consumed message: put it back.
  await store.enqueue('i1', start);
  loaded = await store.loadInstance('i1');
  expect(loaded?.record).toEqual(running);
  expect(loaded?.history.map((e) => e.EventType)).toEqual([12, 0, 4, 13]);
  expect(loaded?.inbox.map((m) => m.key)).toEqual(['event~1']);
  // ... and recovery deleted it for good.
  const table = TableClient.fromConnectionString(testStorage(), storageNames(hubName).table, { allowInsecureConnection: true });
  const rows: string[] = [];
  for await (const e of table.listEntities()) rows.push(String(e.rowKey));
  expect(rows).not.toContain('m~e1~start');

  expect((await store.listRecords()).map((r) => r.instanceId)).toEqual(['i1']);
  await store.purge('i1');
  expect(await store.loadInstance('i1')).toBeUndefined();
  expect(await store.listRecords()).toEqual([]);
});

test('large inputs, outputs and custom status round-trip through blobs, and an engine resumes from the store', async () => {
  const hubName = hub();
  const store1 = new TableStore({ connectionString: testStorage(), hubName });
  const engine1 = newEngine(new TestHost(), store1);
  await engine1.start();
  const done = await startAndWait(engine1, 'Large', { text: 'y'.repeat(200_000) }, 'large-1');
  expect(done.runtimeStatus).toBe('Completed');
  expect(outputOf(done)).toEqual({ inputLength: 200_000, outputLength: 300_000 });
  await engine1.startNew('WaitsForGo', 'waiting-1', null);
  await waitFor(engine1, 'waiting-1', (r) => r.runtimeStatus === 'Running');
  await engine1.stop();

  const engine2 = newEngine(new TestHost(), new TableStore({ connectionString: testStorage(), hubName }));
  await engine2.start();
  try {
    const status = await engine2.getStatus('large-1', { showHistory: true });
    expect(status?.record.runtimeStatus).toBe('Completed');
    expect(JSON.parse(status?.record.input ?? 'null')).toEqual({ text: 'y'.repeat(200_000) });
    expect((JSON.parse(status?.record.customStatus ?? 'null') as { big: string }).big).toHaveLength(70_000);
    const completed = status?.history?.find((e) => e.EventType === 5);
    expect((JSON.parse(String(completed?.Result)) as { text: string }).text).toHaveLength(300_000);
    expect(await engine2.raiseEvent('waiting-1', 'Go', '"went"')).toBe('accepted');
    const resumed = await waitFor(engine2, 'waiting-1');
    expect(outputOf(resumed)).toBe('went');
  } finally {
    await engine2.stop();
  }
});
