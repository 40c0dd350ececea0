/**
 * The Durable engine driving the real durable-functions replay engine (registered through the
 * real @azure/functions programming model) against the in-memory store.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.mock factories run before imports
jest.mock('@azure/functions-core', () => require('./durableHarness').fakeCoreModule(), { virtual: true });

import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';
import { MemoryStore } from '../../src/devhost/durable/store';
import { EventType } from '../../src/devhost/durable/historyEvents';
import type { DurableEngine } from '../../src/devhost/durable/engine';
import { newEngine, outputOf, startAndWait, TestHost, waitFor } from './durableHarness';

// ---- the app under test -------------------------------------------------------------------

const activityRuns = new Map<string, number>();
function countRun(key: string): void {
  activityRuns.set(key, (activityRuns.get(key) ?? 0) + 1);
}

df.app.activity('Double', {
  handler: (input: number) => {
    countRun(`Double:${input}`);
    return input * 2;
  },
});

let flakyFailuresLeft = 0;
df.app.activity('Flaky', {
  handler: (input: string) => {
    countRun(`Flaky:${input}`);
    if (flakyFailuresLeft > 0) {
      flakyFailuresLeft--;
      throw new Error(`flaky failure for ${input}`);
    }
    return `ok:${input}`;
  },
});

df.app.activity('Echo', { handler: (input: unknown) => input });

df.app.activity('Boom', {
  handler: () => {
    throw new Error('boom');
  },
});

/** Inputs from `gateFrom` on block forever (to stop the world mid-fan-out). */
let gateFrom = Number.POSITIVE_INFINITY;
df.app.activity('Gated', {
  handler: async (input: number) => {
    if (input >= gateFrom) await new Promise(() => undefined);
    countRun(`Gated:${input}`);
    return input;
  },
});

df.app.orchestration('FanOut', function* (context: OrchestrationContext) {
  const n = context.df.getInput() as number;
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(context.df.callActivity('Double', i));
  const results = (yield context.df.Task.all(tasks)) as number[];
  return results.reduce((a, b) => a + b, 0);
});

df.app.orchestration('GatedFanOut', function* (context: OrchestrationContext) {
  const n = context.df.getInput() as number;
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(context.df.callActivity('Gated', i));
  const results = (yield context.df.Task.all(tasks)) as number[];
  return results.reduce((a, b) => a + b, 0);
});

df.app.orchestration('WithRetry', function* (context: OrchestrationContext) {
  const options = new df.RetryOptions(50, 3);
  options.backoffCoefficient = 2;
  try {
    const result = (yield context.df.callActivityWithRetry('Flaky', options, context.df.getInput())) as string;
    return { result };
  } catch (e) {
    return { error: (e as Error).message };
  }
});

df.app.orchestration('Sequence', function* (context: OrchestrationContext) {
  const a = (yield context.df.callActivity('Echo', 'Tokyo')) as string;
  const b = (yield context.df.callActivity('Echo', { city: 'Seattle' })) as { city: string };
  const c = (yield context.df.callActivity('Echo', 7)) as number;
  const d = (yield context.df.callActivity('Echo', [1, 'two'])) as unknown[];
  const e = (yield context.df.callActivity('Echo')) as unknown;
  return [a, b, c, d, e ?? null];
});

df.app.orchestration('Timer', function* (context: OrchestrationContext) {
  const start = context.df.currentUtcDateTime.getTime();
  yield context.df.createTimer(new Date(start + 300));
  return context.df.currentUtcDateTime.getTime() - start;
});

df.app.orchestration('Child', function* (context: OrchestrationContext) {
  const input = context.df.getInput() as { n: number };
  const doubled = (yield context.df.callActivity('Double', input.n)) as number;
  return { child: context.df.instanceId, parent: context.df.parentInstanceId, doubled };
});

df.app.orchestration('Parent', function* (context: OrchestrationContext) {
  const childId = `${context.df.instanceId}-child`;
  const child = yield context.df.callSubOrchestrator('Child', { n: 21 }, childId);
  return child;
});

df.app.orchestration('FailingChild', function* (context: OrchestrationContext) {
  yield context.df.callActivity('Boom');
});

df.app.orchestration('ParentOfFailing', function* (context: OrchestrationContext) {
  try {
    yield context.df.callSubOrchestrator('FailingChild', undefined, `${context.df.instanceId}:c`);
    return 'no error';
  } catch (e) {
    return (e as Error).message;
  }
});

df.app.orchestration('Approval', function* (context: OrchestrationContext) {
  context.df.setCustomStatus({ stage: 'waiting' });
  const approval = (yield context.df.waitForExternalEvent('Approve')) as { by: string };
  context.df.setCustomStatus({ stage: 'approved' });
  const second = (yield context.df.waitForExternalEvent('Second')) as number;
  return { approval, second };
});

df.app.orchestration('EventOrTimeout', function* (context: OrchestrationContext) {
  const timer = context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + (context.df.getInput() as number)));
  const event = context.df.waitForExternalEvent('Go');
  const winner = yield context.df.Task.any([event, timer]);
  if (winner === event) {
    timer.cancel();
    return `event:${JSON.stringify(event.result)}`;
  }
  return 'timeout';
});

df.app.orchestration('Counter', function* (context: OrchestrationContext) {
  const n = context.df.getInput() as number;
  const doubled = (yield context.df.callActivity('Double', n)) as number;
  if (n < 3) {
    context.df.continueAsNew(n + 1);
    return undefined;
  }
  return { n, doubled };
});

let changeCode = false;
df.app.orchestration('Changes', function* (context: OrchestrationContext) {
  yield context.df.callActivity(changeCode ? 'Double' : 'Echo', 1);
  yield context.df.waitForExternalEvent('Next');
  return 'done';
});

df.app.orchestration('Fails', function* (context: OrchestrationContext) {
  yield context.df.callActivity('Boom');
  return 'unreachable';
});

// eslint-disable-next-line require-yield -- an orchestrator that throws before its first yield
df.app.orchestration('Throws', function* () {
  throw new Error('orchestrator exploded');
});

df.app.orchestration('Waits', function* (context: OrchestrationContext) {
  yield context.df.waitForExternalEvent('Never');
});

df.app.orchestration('UnknownActivity', function* (context: OrchestrationContext) {
  yield context.df.callActivity('NoSuchActivity');
});

df.app.orchestration('ParallelRetries', function* (context: OrchestrationContext) {
  const options = new df.RetryOptions(20, 4);
  const results = (yield context.df.Task.all([
    context.df.callActivityWithRetry('Flaky', options, 'p1'),
    context.df.callActivityWithRetry('Flaky', options, 'p2'),
    context.df.callActivity('Double', 5),
  ])) as unknown[];
  const after = (yield context.df.callActivity('Double', 6)) as number;
  return [...results, after];
});

df.app.orchestration('LongTimer', function* (context: OrchestrationContext) {
  const start = context.df.currentUtcDateTime.getTime();
  yield context.df.createTimer(new Date(start + 250));
  const after = (yield context.df.callActivity('Double', 1)) as number;
  return { waited: context.df.currentUtcDateTime.getTime() - start, after };
});

df.app.orchestration('AllThenCatch', function* (context: OrchestrationContext) {
  let caught = '';
  try {
    yield context.df.Task.all([context.df.callActivity('Boom'), context.df.callActivity('Double', 2)]);
  } catch (e) {
    caught = (e as Error).message.split('\n')[0] ?? '';
  }
  const next = (yield context.df.callActivity('Double', 3)) as number;
  return { caught, next };
});

// ---- tests ----------------------------------------------------------------------------------

let host: TestHost;
let store: MemoryStore;
let engine: DurableEngine;

beforeEach(async () => {
  activityRuns.clear();
  host = new TestHost();
  store = new MemoryStore();
  engine = newEngine(host, store);
  await engine.start();
});

afterEach(async () => {
  await engine.stop(1000);
});

test('fans out 200 activities with Task.all and fans in their results', async () => {
  const record = await startAndWait(engine, 'FanOut', 200);
  expect(record.runtimeStatus).toBe('Completed');
  expect(outputOf(record)).toBe(2 * ((199 * 200) / 2));
  for (let i = 0; i < 200; i++) expect(activityRuns.get(`Double:${i}`)).toBe(1);
  const status = await engine.getStatus(record.instanceId, { showHistory: true });
  const history = status?.history ?? [];
  expect(history.filter((e) => e.EventType === EventType.TaskScheduled)).toHaveLength(200);
  expect(history.filter((e) => e.EventType === EventType.TaskCompleted)).toHaveLength(200);
});

test('activity inputs and outputs reach handlers as values, whatever their JSON type', async () => {
  const record = await startAndWait(engine, 'Sequence', undefined);
  expect(record.runtimeStatus).toBe('Completed');
  expect(outputOf(record)).toEqual(['Tokyo', { city: 'Seattle' }, 7, [1, 'two'], null]);
});

test('retries a failing activity with backoff until it succeeds', async () => {
  flakyFailuresLeft = 2;
  const before = Date.now();
  const record = await startAndWait(engine, 'WithRetry', 'a');
  expect(outputOf(record)).toEqual({ result: 'ok:a' });
  expect(activityRuns.get('Flaky:a')).toBe(3);
  expect(Date.now() - before).toBeGreaterThanOrEqual(50 + 100); // 50 ms, then 100 ms (coefficient 2)
  const history = (await engine.getStatus(record.instanceId, { showHistory: true }))?.history ?? [];
  expect(history.filter((e) => e.EventType === EventType.TaskFailed)).toHaveLength(2);
  expect(history.filter((e) => e.EventType === EventType.TimerFired)).toHaveLength(2);
});

test('gives up after maxNumberOfAttempts and surfaces the last failure to the orchestrator', async () => {
  flakyFailuresLeft = 10;
  const record = await startAndWait(engine, 'WithRetry', 'b');
  expect(activityRuns.get('Flaky:b')).toBe(3);
  expect(outputOf(record)).toEqual({ error: expect.stringContaining("Activity function 'Flaky' failed: flaky failure for b") });
  flakyFailuresLeft = 0;
});

test('a durable timer fires at its time', async () => {
  const record = await startAndWait(engine, 'Timer', undefined);
  expect(record.runtimeStatus).toBe('Completed');
  expect(outputOf(record) as number).toBeGreaterThanOrEqual(300);
});

test('runs a sub-orchestration under an explicit instance id', async () => {
  const record = await startAndWait(engine, 'Parent', undefined, 'parent-1');
  expect(outputOf(record)).toEqual({ child: 'parent-1-child', parent: 'parent-1', doubled: 42 });
  const child = await engine.getStatus('parent-1-child');
  expect(child?.record.runtimeStatus).toBe('Completed');
  expect(child?.record.parent?.instanceId).toBe('parent-1');
});

test('a failed sub-orchestration fails the parent task', async () => {
  const record = await startAndWait(engine, 'ParentOfFailing', undefined, 'pof');
  expect(outputOf(record)).toEqual(expect.stringContaining("Orchestrator function 'FailingChild' failed: Activity function 'Boom' failed: boom"));
  expect((await engine.getStatus('pof:c'))?.record.runtimeStatus).toBe('Failed');
});

test('waits for external events (raised before and after the wait) and shows custom status', async () => {
  await engine.startNew('Approval', 'approval-1', null);
  const waiting = await waitFor(engine, 'approval-1', (r) => r.customStatus !== null);
  expect(JSON.parse(waiting.customStatus ?? 'null')).toEqual({ stage: 'waiting' });
  expect(waiting.runtimeStatus).toBe('Running');
  // 'Second' arrives before anyone waits for it: it is buffered.
  expect(await engine.raiseEvent('approval-1', 'Second', '2')).toBe('accepted');
  expect(await engine.raiseEvent('approval-1', 'Approve', JSON.stringify({ by: 'ops' }))).toBe('accepted');
  const record = await waitFor(engine, 'approval-1');
  expect(outputOf(record)).toEqual({ approval: { by: 'ops' }, second: 2 });
  expect(JSON.parse(record.customStatus ?? 'null')).toEqual({ stage: 'approved' });
  expect(await engine.raiseEvent('approval-1', 'Approve', '1')).toBe('gone');
  expect(await engine.raiseEvent('nope', 'Approve', '1')).toBe('notFound');
});

test('Task.any of an event and a timer: the event wins and the timer is cancelled', async () => {
  await engine.startNew('EventOrTimeout', 'any-1', '60000');
  await waitFor(engine, 'any-1', (r) => r.runtimeStatus === 'Running');
  await engine.raiseEvent('any-1', 'Go', '"now"');
  const record = await waitFor(engine, 'any-1');
  expect(outputOf(record)).toBe('event:"now"');
});

test('Task.any of an event and a timer: the timer wins', async () => {
  const record = await startAndWait(engine, 'EventOrTimeout', 100, 'any-2');
  expect(outputOf(record)).toBe('timeout');
});

test('continueAsNew restarts the orchestration with new input until it finishes', async () => {
  const record = await startAndWait(engine, 'Counter', 0, 'counter-1');
  expect(record.runtimeStatus).toBe('Completed');
  expect(outputOf(record)).toEqual({ n: 3, doubled: 6 });
  expect(JSON.parse(record.input ?? 'null')).toBe(3);
  for (let i = 0; i <= 3; i++) expect(activityRuns.get(`Double:${i}`)).toBe(1);
  const history = (await engine.getStatus('counter-1', { showHistory: true }))?.history ?? [];
  expect(history.filter((e) => e.EventType === EventType.ExecutionStarted)).toHaveLength(1);
});

test('a non-deterministic orchestrator fails its instance with the DurableTask non-determinism error', async () => {
  changeCode = false;
  await engine.startNew('Changes', 'nd-1', null);
  await waitFor(engine, 'nd-1', (r) => r.runtimeStatus === 'Running' && r.episode >= 2);
  changeCode = true; // "deploy" a different orchestrator while the instance waits
  await engine.raiseEvent('nd-1', 'Next', null);
  const record = await waitFor(engine, 'nd-1');
  changeCode = false;
  expect(record.runtimeStatus).toBe('Failed');
  expect(record.output).toBe(
    "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity task with sequence number 0 named 'Echo', " +
      "but the current orchestration replay instead scheduled an activity task named 'Double' with this sequence number.  " +
      'Was a change made to the orchestrator code after this instance had already started running?',
  );
});

test('an unhandled activity failure fails the orchestration', async () => {
  const record = await startAndWait(engine, 'Fails', undefined);
  expect(record.runtimeStatus).toBe('Failed');
  expect(record.output).toMatch(/^Orchestrator function 'Fails' failed: Activity function 'Boom' failed: boom/);
});

test('an orchestrator that throws fails its instance', async () => {
  const record = await startAndWait(engine, 'Throws', undefined);
  expect(record.runtimeStatus).toBe('Failed');
  expect(record.output).toBe("Orchestrator function 'Throws' failed: orchestrator exploded");
});

test('calling an activity that does not exist fails with the extension message', async () => {
  const record = await startAndWait(engine, 'UnknownActivity', undefined);
  expect(record.runtimeStatus).toBe('Failed');
  expect(record.output).toContain("The function 'NoSuchActivity' doesn't exist, is disabled, or is not an activity function.");
});

test('refuses a second start of a running instance id; allows it once finished', async () => {
  expect((await engine.startNew('Waits', 'dup-1', null)).kind).toBe('started');
  const second = await engine.startNew('Waits', 'dup-1', null);
  expect(second.kind).toBe('conflict');
  expect(await engine.terminate('dup-1', 'enough')).toBe('accepted');
  const terminated = await waitFor(engine, 'dup-1');
  expect(terminated.runtimeStatus).toBe('Terminated');
  expect(terminated.output).toBe('enough');
  expect(await engine.terminate('dup-1', 'again')).toBe('gone');
  expect((await engine.startNew('Waits', 'dup-1', null)).kind).toBe('started');
  await waitFor(engine, 'dup-1', (r) => r.runtimeStatus === 'Running');
});

test('refuses unknown orchestrators and invalid instance ids', async () => {
  expect(await engine.startNew('Nope', undefined, null)).toEqual({
    kind: 'badRequest',
    message: expect.stringContaining("The function 'Nope' doesn't exist, is disabled, or is not an orchestrator function."),
  });
  expect((await engine.startNew('Waits', 'a/b', null)).kind).toBe('badRequest');
});

test('suspend holds events until resume', async () => {
  await engine.startNew('Approval', 'susp-1', null);
  await waitFor(engine, 'susp-1', (r) => r.runtimeStatus === 'Running');
  expect(await engine.suspend('susp-1', 'hold')).toBe('accepted');
  await waitFor(engine, 'susp-1', (r) => r.runtimeStatus === 'Suspended');
  await engine.raiseEvent('susp-1', 'Approve', '{"by":"x"}');
  await engine.raiseEvent('susp-1', 'Second', '5');
  await new Promise((r) => setTimeout(r, 50));
  expect((await engine.getStatus('susp-1'))?.record.runtimeStatus).toBe('Suspended');
  await engine.resume('susp-1', 'go');
  const record = await waitFor(engine, 'susp-1');
  expect(outputOf(record)).toEqual({ approval: { by: 'x' }, second: 5 });
});

test('purges an instance and its history', async () => {
  const record = await startAndWait(engine, 'FanOut', 3, 'purge-me');
  expect(await engine.purge(record.instanceId)).toBe(1);
  expect(await engine.getStatus('purge-me')).toBeUndefined();
  expect(await engine.purge('purge-me')).toBe(0);
  expect(await store.loadInstance('purge-me')).toBeUndefined();
});

test('resumes after a crash mid-fan-out without re-running completed activities', async () => {
  gateFrom = 12;
  // Engine 1 runs until activities 0..11 completed (12.. block), then "dies": its host stops
  // answering and the store refuses its writes.
  let dead = false;
  const shared = new MemoryStore();
  const guarded: MemoryStore = Object.create(shared) as MemoryStore;
  for (const method of ['createInstance', 'enqueue', 'deleteMessages', 'commitEpisode', 'purge'] as const) {
    const original = shared[method].bind(shared) as (...args: unknown[]) => Promise<void>;
    (guarded as unknown as Record<string, unknown>)[method] = (...args: unknown[]): Promise<void> =>
      dead ? new Promise<void>(() => undefined) : original(...args);
  }
  const host1 = new TestHost();
  const engine1 = newEngine(host1, guarded, { maxConcurrentActivityFunctions: 4 });
  await engine1.start();
  await engine1.startNew('GatedFanOut', 'crash-1', '40');
  const deadline = Date.now() + 10_000;
  while ([...activityRuns.keys()].filter((k) => k.startsWith('Gated:')).length < 12 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 20)); // let the last completions reach the store
  dead = true;
  host1.dead = true;
  await engine1.stop(100);
  // What was durably recorded as completed at the moment of the crash.
  const snapshot = await shared.loadInstance('crash-1');
  const storedIds = new Set<number>();
  for (const e of [...(snapshot?.history ?? []), ...(snapshot?.inbox ?? []).map((m) => m.event)]) {
    if (e.EventType === EventType.TaskCompleted) storedIds.add(e.TaskScheduledId as number);
  }
  expect(storedIds.size).toBe(12);

  gateFrom = Number.POSITIVE_INFINITY;
  const engine2 = newEngine(new TestHost(), shared);
  await engine2.start();
  const record = await waitFor(engine2, 'crash-1');
  await engine2.stop(1000);
  expect(record.runtimeStatus).toBe('Completed');
  expect(outputOf(record)).toBe((39 * 40) / 2);
  const history = await shared.loadHistory('crash-1', record.executionId);
  expect(history.filter((e) => e.EventType === EventType.TaskCompleted)).toHaveLength(40);
  for (let i = 0; i < 40; i++) {
    // Task i has sequence id i; a completion stored before the crash is never run again.
    if (storedIds.has(i)) expect(activityRuns.get(`Gated:${i}`)).toBe(1);
    else expect(activityRuns.get(`Gated:${i}`)).toBeGreaterThanOrEqual(1);
  }
});

test('retries inside Task.all agree with the worker on sequence ids', async () => {
  flakyFailuresLeft = 3; // spread over p1 and p2 in whatever order they run
  const record = await startAndWait(engine, 'ParallelRetries', undefined);
  expect(record.runtimeStatus).toBe('Completed');
  expect(outputOf(record)).toEqual(['ok:p1', 'ok:p2', 10, 12]);
  flakyFailuresLeft = 0;
});

test('timers longer than the maximum short timer are split into intervals', async () => {
  const shortHost = new TestHost();
  const e = newEngine(shortHost, new MemoryStore(), { maxShortTimerMs: 100, longTimerIntervalMs: 60 });
  await e.start();
  try {
    const record = await startAndWait(e, 'LongTimer', undefined);
    expect(record.runtimeStatus).toBe('Completed');
    const out = outputOf(record) as { waited: number; after: number };
    expect(out.waited).toBeGreaterThanOrEqual(250);
    expect(out.after).toBe(2);
    const history = (await e.getStatus(record.instanceId, { showHistory: true }))?.history ?? [];
    expect(history.filter((ev) => ev.EventType === EventType.TimerCreated).length).toBeGreaterThanOrEqual(4);
  } finally {
    await e.stop(1000);
  }
});

test('a failed Task.all that the orchestrator catches lets it continue', async () => {
  const record = await startAndWait(engine, 'AllThenCatch', undefined);
  expect(record.runtimeStatus).toBe('Completed');
  expect(outputOf(record)).toEqual({ caught: "Activity function 'Boom' failed: boom ", next: 6 });
});
