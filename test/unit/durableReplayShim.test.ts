/**
 * The host-side replay of orchestrator actions (pure): sequence ids, matching against history,
 * DurableTask.Core's non-determinism messages, retries, timers, external events, continueAsNew;
 * plus the status payload, the host.json settings and the worker protocol helpers.
 */
import { ActionType, OrchestratorAction, OrchestratorState, ReplaySchema } from '../../src/devhost/durable/actions';
import { readDurableConfig } from '../../src/devhost/durable/config';
import { events, HistoryEvent } from '../../src/devhost/durable/historyEvents';
import { replayOrchestration, ShimOptions } from '../../src/devhost/durable/replayShim';
import { formatHistory, statusPayload } from '../../src/devhost/durable/statusPayload';
import { activityResultJson, readOrchestratorOutcome } from '../../src/devhost/durable/workerProtocol';

const T0 = '2024-05-01T00:00:00.000Z';
const options: ShimOptions = {
  instanceId: 'i1',
  orchestrationName: 'Orch',
  activities: ['A', 'B'],
  orchestrators: ['Orch', 'Child'],
  maxShortTimerMs: 6 * 24 * 3600_000,
  longTimerIntervalMs: 3 * 24 * 3600_000,
  preserveUnprocessedEvents: false,
};

function state(actions: OrchestratorAction[], extra: Partial<OrchestratorState> = {}): OrchestratorState {
  return { isDone: false, actions: [actions], schemaVersion: ReplaySchema.V3, ...extra };
}

const call = (name: string, input?: unknown): OrchestratorAction => ({ actionType: ActionType.CallActivity, functionName: name, input });
const start = (): HistoryEvent[] => [events.orchestratorStarted(T0), events.executionStarted(T0, { name: 'Orch', input: null, instanceId: 'i1', executionId: 'e' })];

test('first episode: every action of a Task.all gets the next sequence id', () => {
  const result = replayOrchestration(start(), state([{ actionType: ActionType.WhenAll, compoundActions: [call('A', 1), call('B', '"x"'), call('A')] }]), options);
  expect(result.newWork).toEqual([
    { kind: 'activity', id: 0, name: 'A', input: '1' },
    { kind: 'activity', id: 1, name: 'B', input: '"x"' },
    { kind: 'activity', id: 2, name: 'A', input: null },
  ]);
});

test('scheduled actions already in history are not scheduled again; the next one waits for its predecessor', () => {
  const history = [...start(), events.taskScheduled(T0, 0, 'A', '1'), events.orchestratorCompleted(T0)];
  expect(replayOrchestration(history, state([call('A', 1)]), options).newWork).toEqual([]);
  // The worker cannot have yielded B before A completed; if it had, B would wait (V2/V3: awaited in order).
  expect(replayOrchestration(history, state([call('A', 1), call('B')]), options).newWork).toEqual([]);
  const completed = [...history, events.orchestratorStarted(T0), events.taskCompleted(T0, 0, '2')];
  expect(replayOrchestration(completed, state([call('A', 1), call('B')]), options).newWork).toEqual([
    { kind: 'activity', id: 1, name: 'B', input: null },
  ]);
});

test('non-determinism: a different activity, a different kind of action, a missing action', () => {
  const history = [...start(), events.taskScheduled(T0, 0, 'A', null), events.orchestratorCompleted(T0)];
  expect(replayOrchestration(history, state([call('B')]), options).nonDeterminism).toBe(
    "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity task with sequence number 0 named 'A', " +
      "but the current orchestration replay instead scheduled an activity task named 'B' with this sequence number.  " +
      'Was a change made to the orchestrator code after this instance had already started running?',
  );
  expect(
    replayOrchestration(history, state([{ actionType: ActionType.CreateTimer, fireAt: '2024-05-01T00:01:00.000Z' }]), options).nonDeterminism,
  ).toContain('but the current orchestration replay instead produced a CreateTimerOrchestratorAction action with this sequence number.');
  expect(replayOrchestration(history, state([]), options).nonDeterminism).toBe(
    "Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity task with sequence ID 0 and name 'A' " +
      "(version ''), but the current replay execution hasn't (yet?) scheduled this task. Was a change made to the orchestrator code after this instance had already started running?",
  );
  const timerHistory = [...start(), events.timerCreated(T0, 0, T0), events.orchestratorCompleted(T0)];
  expect(replayOrchestration(timerHistory, state([call('A')]), options).nonDeterminism).toContain(
    'scheduled a timer task with sequence number 0 named but the current orchestration replay instead produced a ScheduleTaskOrchestratorAction',
  );
});

test('retry: a timer after each failure, then the next attempt, each with its own sequence id', () => {
  const retry: OrchestratorAction = {
    actionType: ActionType.CallActivityWithRetry,
    functionName: 'A',
    retryOptions: { firstRetryIntervalInMilliseconds: 1000, maxNumberOfAttempts: 2, backoffCoefficient: 2 },
  };
  const T1 = '2024-05-01T00:00:01.000Z';
  const h1 = [...start(), events.taskScheduled(T0, 0, 'A', null), events.orchestratorCompleted(T0), events.orchestratorStarted(T1), events.taskFailed(T1, 0, 'r', 'd')];
  expect(replayOrchestration(h1, state([retry]), options).newWork).toEqual([{ kind: 'timer', id: 1, fireAt: '2024-05-01T00:00:02.000Z' }]);
  const h2 = [...h1, events.timerCreated(T1, 1, '2024-05-01T00:00:02.000Z'), events.orchestratorCompleted(T1), events.orchestratorStarted('2024-05-01T00:00:02.000Z'), events.timerFired(T1, 1, T1)];
  expect(replayOrchestration(h2, state([retry]), options).newWork).toEqual([{ kind: 'activity', id: 2, name: 'A', input: null }]);
  const h3 = [...h2, events.taskScheduled(T0, 2, 'A', null), events.orchestratorCompleted(T0), events.orchestratorStarted('2024-05-01T00:00:03.000Z'), events.taskFailed(T1, 2, 'r', 'd')];
  // After the last attempt: one more timer (2 s = 1 s × 2¹), then the failure surfaces.
  expect(replayOrchestration(h3, state([retry, call('B')]), options).newWork).toEqual([{ kind: 'timer', id: 3, fireAt: '2024-05-01T00:00:05.000Z' }]);
  const h4 = [...h3, events.timerCreated(T0, 3, 'x'), events.orchestratorCompleted(T0), events.orchestratorStarted('2024-05-01T00:00:05.000Z'), events.timerFired(T0, 3, 'x')];
  expect(replayOrchestration(h4, state([retry, call('B')]), options).newWork).toEqual([{ kind: 'activity', id: 4, name: 'B', input: null }]);
});

test('external events: buffered until awaited, a stack of waiters, carried over by continueAsNew', () => {
  const wait = (name: string): OrchestratorAction => ({ actionType: ActionType.WaitForExternalEvent, externalEventName: name });
  const history = [...start(), events.eventRaised(T0, 'X', '1'), events.eventRaised(T0, 'Y', '2')];
  const result = replayOrchestration(history, state([wait('X'), call('A'), { actionType: ActionType.ContinueAsNew, input: 5 }]), options);
  expect(result.newWork).toEqual([{ kind: 'activity', id: 0, name: 'A', input: null }]);
  expect(result.continueAsNew).toBeUndefined(); // A has not completed: continueAsNew is not reached yet
  const later = [...history, events.taskScheduled(T0, 0, 'A', null), events.orchestratorStarted(T0), events.taskCompleted(T0, 0, null), events.eventRaised(T0, 'Z', '3')];
  const can = replayOrchestration(later, state([wait('X'), call('A'), { actionType: ActionType.ContinueAsNew, input: 5 }], { isDone: true }), options);
  expect(can.continueAsNew?.input).toBe('5');
  // Z arrived after continueAsNew: carried; Y was buffered before it: dropped unless preserved.
  expect(can.continueAsNew?.carryOverEvents.map((e) => e.Name)).toEqual(['Z']);
  const preserved = replayOrchestration(later, state([wait('X'), call('A'), { actionType: ActionType.ContinueAsNew, input: 5 }]), {
    ...options,
    preserveUnprocessedEvents: true,
  });
  expect(preserved.continueAsNew?.carryOverEvents.map((e) => e.Name).sort()).toEqual(['Y', 'Z']);
});

test('a cancelled timer in Task.any still takes its sequence id and is scheduled', () => {
  const any: OrchestratorAction = {
    actionType: ActionType.WhenAny,
    compoundActions: [
      { actionType: ActionType.WaitForExternalEvent, externalEventName: 'Go' },
      { actionType: ActionType.CreateTimer, fireAt: '2024-05-01T01:00:00.000Z', isCanceled: true },
    ],
  };
  const result = replayOrchestration([...start(), events.eventRaised(T0, 'Go', null)], state([any, call('A')]), options);
  expect(result.newWork).toEqual([
    { kind: 'timer', id: 0, fireAt: '2024-05-01T01:00:00.000Z' },
    { kind: 'activity', id: 1, name: 'A', input: null },
  ]);
});

test('unsupported APIs and unknown functions fail with clear messages', () => {
  expect(replayOrchestration(start(), state([{ actionType: ActionType.CallEntity, instanceId: '@c@k' }]), options).failure).toBe(
    'Durable entities are not supported by the local Functions host (the orchestration used CallEntity).',
  );
  expect(replayOrchestration(start(), state([{ actionType: ActionType.CallHttp }]), options).failure).toContain('callHttp');
  expect(replayOrchestration(start(), state([call('Nope')]), options).failure).toBe(
    "The function 'Nope' doesn't exist, is disabled, or is not an activity function. Additional info: The following are the known activity functions: 'A', 'B'.",
  );
  expect(
    replayOrchestration(start(), state([{ actionType: ActionType.CallSubOrchestrator, functionName: 'Child', instanceId: 'i1' }]), options).failure,
  ).toBe('The instance ID of a sub-orchestration must be different than the instance ID of a parent orchestration.');
});

test('an unknown activity or orchestrator is named with the known ones of its kind, or with none registered', () => {
  const callChild = (name: string): OrchestratorAction => ({ actionType: ActionType.CallSubOrchestrator, functionName: name });
  expect(replayOrchestration(start(), state([callChild('Nope')]), options).failure).toBe(
    "The function 'Nope' doesn't exist, is disabled, or is not an orchestrator function. Additional info: The following are the known orchestrator functions: 'Orch', 'Child'.",
  );
  const none = { ...options, activities: [], orchestrators: [] };
  expect(replayOrchestration(start(), state([call('A')]), none).failure).toBe(
    "The function 'A' doesn't exist, is disabled, or is not an activity function. Additional info: No activity functions are currently registered!",
  );
  expect(replayOrchestration(start(), state([callChild('Child')]), none).failure).toBe(
    "The function 'Child' doesn't exist, is disabled, or is not an orchestrator function. Additional info: No orchestrator functions are currently registered!",
  );
  // Names match in any letter case, as the extension's do.
  expect(replayOrchestration(start(), state([call('a')]), options).newWork).toEqual([{ kind: 'activity', id: 0, name: 'a', input: null }]);
});

test('V1 schema: each action set is awaited with WhenAny', () => {
  const v1: OrchestratorState = { isDone: false, actions: [[call('A'), call('B')], [call('A')]], schemaVersion: ReplaySchema.V1 };
  expect(replayOrchestration(start(), v1, options).newWork.map((w) => w.id)).toEqual([0, 1]);
  const history = [...start(), events.taskScheduled(T0, 0, 'A', null), events.taskScheduled(T0, 1, 'B', null), events.orchestratorStarted(T0), events.taskCompleted(T0, 1, null)];
  expect(replayOrchestration(history, v1, options).newWork).toEqual([{ kind: 'activity', id: 2, name: 'A', input: null }]);
});

test('reads the orchestrator state from a return value or from a thrown error', () => {
  const st = { isDone: true, actions: [[]], output: 3, schemaVersion: 2 };
  expect(readOrchestratorOutcome({ json: JSON.stringify(st) }, undefined)).toMatchObject({ kind: 'state', state: { isDone: true, output: 3 } });
  const thrown = new Error(`boom\n\n$OutOfProcData$:${JSON.stringify({ ...st, isDone: false, error: 'boom' })}`);
  expect(readOrchestratorOutcome(undefined, thrown)).toMatchObject({ kind: 'state', state: { error: 'boom' }, errorMessage: 'boom' });
  expect(readOrchestratorOutcome(undefined, new Error('plain'))).toMatchObject({ kind: 'failed', message: 'plain' });
  expect(readOrchestratorOutcome({ string: 'not json' }, undefined)).toMatchObject({ kind: 'failed' });
  expect(activityResultJson({ string: 'hi' })).toBe('"hi"');
  expect(activityResultJson({ json: '{"a":1}' })).toBe('{"a":1}');
  expect(activityResultJson({ int: 4 })).toBe('4');
  expect(activityResultJson(undefined)).toBeNull();
});

test('status payloads and history are shaped as the management API shows them', () => {
  const now = '2024-05-01T10:20:30.456Z';
  const payload = statusPayload(
    {
      instanceId: 'i1',
      name: 'Orch',
      executionId: 'e',
      runtimeStatus: 'Failed',
      input: '{"a":1}',
      output: "Orchestrator function 'Orch' failed: x",
      customStatus: null,
      createdTime: now,
      lastUpdatedTime: now,
      episode: 3,
    },
    { showInput: false },
  );
  expect(payload).toEqual({
    name: 'Orch',
    instanceId: 'i1',
    runtimeStatus: 'Failed',
    input: null,
    customStatus: null,
    output: "Orchestrator function 'Orch' failed: x",
    createdTime: '2024-05-01T10:20:30Z',
    lastUpdatedTime: '2024-05-01T10:20:30Z',
  });
  const history = formatHistory(
    [...start(), events.taskScheduled(T0, 0, 'A', '1'), events.timerCreated(T0, 1, T0), events.orchestratorStarted(T0), events.taskFailed(T0, 0, 'r', 'd'), events.timerFired(T0, 1, T0)],
    true,
    false,
  );
  expect(history).toEqual([
    { EventType: 'ExecutionStarted', Timestamp: T0, FunctionName: 'Orch', Input: null },
    { EventType: 'TimerCreated', Timestamp: T0, FireAt: T0 },
    { EventType: 'TaskFailed', Timestamp: T0, Reason: 'r', Details: 'd', ScheduledTime: T0, FunctionName: 'A', Input: '1' },
    { EventType: 'TimerFired', Timestamp: T0, FireAt: T0 },
  ]);
});

test('host.json durableTask settings are validated with the field named', () => {
  expect(readDurableConfig({}, {})).toEqual({
    hubName: 'TestHubName',
    connectionName: 'AzureWebJobsStorage',
    maxConcurrentActivityFunctions: 10,
    maxConcurrentOrchestratorFunctions: 10,
  });
  expect(
    readDurableConfig({ extensions: { durableTask: { hubName: '%HUB%', maxConcurrentActivityFunctions: 3, storageProvider: { connectionStringName: 'Other' } } } }, { HUB: 'MyHub' }),
  ).toMatchObject({ hubName: 'MyHub', connectionName: 'Other', maxConcurrentActivityFunctions: 3 });
  expect(() => readDurableConfig({ extensions: { durableTask: { hubName: 'my-hub' } } }, {})).toThrow(
    'host.json: extensions.durableTask.hubName "my-hub" is not a valid task hub name',
  );
  expect(() => readDurableConfig({ extensions: { durableTask: { maxConcurrentOrchestratorFunctions: 0 } } }, {})).toThrow(
    'extensions.durableTask.maxConcurrentOrchestratorFunctions must be a positive integer',
  );
});
