/**
 * The host side of an orchestration episode, as the Durable extension's out-of-proc shim
 * (OutOfProcOrchestrationShim.cs) does it: the actions the worker returned are replayed, in
 * order, against a DurableTask.Core-style orchestration context while the history is processed
 * event by event. Each scheduled activity, timer and sub-orchestration takes the next sequence
 * number (exactly like the worker's own TaskOrchestrationExecutor, so ids agree), scheduling
 * events already in the history are matched by sequence number (a mismatch is DurableTask.Core's
 * NonDeterministicOrchestrationException), completions resolve open tasks, and what is left in
 * the action map after the last event is the new work of this episode. V2/V3 schemas await each
 * action before invoking the next one (ProcessAsyncActionsV2); V1 awaits any of each action set.
 * Retries (RetryInterceptor) and long timers are host-side loops that take sequence numbers as
 * they go. Pure: no I/O, no clock (time comes from OrchestratorStarted events).
 */
import { ActionType, actionTypeName, OrchestratorAction, OrchestratorState, ReplaySchema } from './actions';
import { EventType, HistoryEvent, nullableStr, num, str } from './historyEvents';
import { retryDelayMs, toRetryPolicy } from './retry';

export interface ShimOptions {
  instanceId: string;
  orchestrationName: string;
  parentInstanceId?: string;
  /** Registered activity functions (exact names as registered). */
  activities: readonly string[];
  /** Registered orchestrator functions. */
  orchestrators: readonly string[];
  /** Timers further away than this are split into intervals (the storage provider's maximum delay). */
  maxShortTimerMs: number;
  longTimerIntervalMs: number;
  /** Carry every unconsumed external event into the next generation on continueAsNew. */
  preserveUnprocessedEvents: boolean;
}

export type NewWork =
  | { kind: 'activity'; id: number; name: string; input: string | null }
  | { kind: 'timer'; id: number; fireAt: string }
  | { kind: 'subOrchestration'; id: number; name: string; instanceId: string; input: string | null };

export interface ShimResult {
  /** Scheduling decisions of this episode, in sequence order. */
  newWork: NewWork[];
  /** Set when the orchestration called continueAsNew (and reached it in replay). */
  continueAsNew?: { input: string | null; carryOverEvents: HistoryEvent[] };
  /** DurableTask.Core's non-determinism message ("Non-Deterministic workflow detected: …"). */
  nonDeterminism?: string;
  /** A failure the host raises while replaying the actions (unknown function, unsupported API…). */
  failure?: string;
}

type TaskState = 'running' | 'completed' | 'failed' | 'canceled';

/** A task of the host-side program; continuations run synchronously when it settles. */
class HostTask {
  state: TaskState = 'running';
  private listeners: (() => void)[] = [];

  get done(): boolean {
    return this.state !== 'running';
  }

  onDone(listener: () => void): void {
    if (this.done) listener();
    else this.listeners.push(listener);
  }

  settle(state: Exclude<TaskState, 'running'>): void {
    if (this.done) return;
    this.state = state;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener();
  }
}

function completedTask(): HostTask {
  const t = new HostTask();
  t.settle('completed');
  return t;
}

type PendingAction =
  | { kind: 'activity'; name: string; input: string | null }
  | { kind: 'timer'; fireAt: string }
  | { kind: 'subOrchestration'; name: string; instanceId: string; input: string | null };

/** .NET class names DurableTask.Core puts in its non-determinism messages. */
const DOTNET_ACTION_NAME: Record<PendingAction['kind'], string> = {
  activity: 'ScheduleTaskOrchestratorAction',
  timer: 'CreateTimerOrchestratorAction',
  subOrchestration: 'CreateSubOrchestrationAction',
};

class NonDeterminismError extends Error {}
class ShimFailure extends Error {}

export function jsonOrNull(value: unknown): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : text;
}

/** Activity (and continueAsNew) inputs arrive pre-encoded when they are strings (Utils.processInput). */
export function activityInputJson(input: unknown): string | null {
  return typeof input === 'string' ? input : jsonOrNull(input);
}

function findFunction(names: readonly string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return names.find((n) => n.toLowerCase() === lower);
}

/** `name` when `known` holds it (in any letter case); otherwise the extension's failure naming the known functions of that kind. */
function requireRegistered(known: readonly string[], name: string, kind: 'activity' | 'orchestrator'): string {
  if (findFunction(known, name)) return name;
  throw new ShimFailure(
    `The function '${name}' doesn't exist, is disabled, or is not an ${kind} function. Additional info: ` +
      (known.length > 0
        ? `The following are the known ${kind} functions: '${known.join("', '")}'.`
        : `No ${kind} functions are currently registered!`),
  );
}

export function replayOrchestration(history: readonly HistoryEvent[], state: OrchestratorState, options: ShimOptions): ShimResult {
  return new ShimRun(history, state, options).run();
}

class ShimRun {
  private nextId = 0;
  private nowMs = 0;
  /** Actions scheduled by the replayed program and not (yet) matched by a history event. */
  private readonly actionMap = new Map<number, PendingAction>();
  private readonly openTasks = new Map<number, HostTask>();
  /** External-event waiters per name (a stack, as DurableOrchestrationContext keeps them). */
  private readonly eventWaiters = new Map<string, HostTask[]>();
  private readonly bufferedEvents = new Map<string, HistoryEvent[]>();
  private readonly carryOver: HistoryEvent[] = [];
  private continueAsNewInput: { input: string | null } | undefined;
  private failure: string | undefined;

  constructor(
    private readonly history: readonly HistoryEvent[],
    private readonly state: OrchestratorState,
    private readonly options: ShimOptions,
  ) {}

  run(): ShimResult {
    try {
      for (const event of this.history) this.process(event);
    } catch (e) {
      if (e instanceof NonDeterminismError) return { newWork: [], nonDeterminism: e.message };
      throw e;
    }
    if (this.failure !== undefined) return { newWork: [], failure: this.failure };
    const newWork: NewWork[] = [];
    for (const [id, action] of this.actionMap) {
      if (action.kind === 'activity') newWork.push({ kind: 'activity', id, name: action.name, input: action.input });
      else if (action.kind === 'timer') newWork.push({ kind: 'timer', id, fireAt: action.fireAt });
      else newWork.push({ kind: 'subOrchestration', id, name: action.name, instanceId: action.instanceId, input: action.input });
    }
    const result: ShimResult = { newWork };
    if (this.continueAsNewInput) {
      const carry = [...this.carryOver];
      if (this.options.preserveUnprocessedEvents) {
        for (const list of this.bufferedEvents.values()) carry.push(...list);
      }
      result.continueAsNew = { input: this.continueAsNewInput.input, carryOverEvents: carry };
    }
    return result;
  }

  // ---- history processing (DurableTask.Core TaskOrchestrationExecutor + TaskOrchestrationContext)

  private process(event: HistoryEvent): void {
    switch (event.EventType) {
      case EventType.OrchestratorStarted: {
        const t = Date.parse(event.Timestamp);
        if (!Number.isNaN(t) && t > this.nowMs) this.nowMs = t;
        break;
      }
      case EventType.ExecutionStarted:
        this.startProgram();
        break;
      case EventType.TaskScheduled:
        this.matchScheduled(event, 'activity');
        break;
      case EventType.TimerCreated:
        this.matchScheduled(event, 'timer');
        break;
      case EventType.SubOrchestrationInstanceCreated:
        this.matchScheduled(event, 'subOrchestration');
        break;
      case EventType.TaskCompleted:
      case EventType.SubOrchestrationInstanceCompleted:
      case EventType.TimerFired:
        this.resolve(num(event, event.EventType === EventType.TimerFired ? 'TimerId' : 'TaskScheduledId'), 'completed');
        break;
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceFailed:
        this.resolve(num(event, 'TaskScheduledId'), 'failed');
        break;
      case EventType.EventRaised:
        this.raise(event);
        break;
      default:
        break;
    }
  }

  private matchScheduled(event: HistoryEvent, kind: PendingAction['kind']): void {
    const id = event.EventId;
    const name = str(event, 'Name') ?? '';
    const action = this.actionMap.get(id);
    if (!action) {
      throw new NonDeterminismError(
        kind === 'activity'
          ? `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity task with sequence ID ${id} and name ` +
              `'${name}' (version ''), but the current replay execution hasn't (yet?) scheduled this task. Was a change made to the orchestrator code after this instance had already started running?`
          : kind === 'timer'
            ? `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled a timer task with sequence number ${id} but ` +
              'the current replay execution hasn\'t (yet?) scheduled this task. Was a change made to the orchestrator code after this instance had already started running?'
            : `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled a sub-orchestration task with sequence ID ${id} ` +
              `and name '${name}' (version '', instance ID '${str(event, 'InstanceId') ?? ''}'), but the current replay execution hasn't (yet?) ` +
              'scheduled this task. Was a change made to the orchestrator code after this instance had already started running?',
      );
    }
    if (action.kind !== kind) {
      throw new NonDeterminismError(
        kind === 'activity'
          ? `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity task with sequence number ${id} named ` +
              `'${name}', but the current orchestration replay instead produced a ${DOTNET_ACTION_NAME[action.kind]} action with this sequence number. ` +
              'Was a change made to the orchestrator code after this instance had already started running?'
          : kind === 'timer'
            ? `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled a timer task with sequence number ${id} named ` +
              `but the current orchestration replay instead produced a ${DOTNET_ACTION_NAME[action.kind]} action with this sequence number. ` +
              'Was a change made to the orchestrator code after this instance had already started running?'
            : `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled a sub-orchestration task with sequence ID ${id} ` +
              `and name '${name}' (version '', instance ID '${str(event, 'InstanceId') ?? ''}'), but the current orchestration replay instead ` +
              `produced a ${DOTNET_ACTION_NAME[action.kind]} action at this sequence number. Was a change made to the orchestrator code after this instance had already started running?`,
      );
    }
    if (action.kind !== 'timer' && action.name.toLowerCase() !== name.toLowerCase()) {
      throw new NonDeterminismError(
        action.kind === 'activity'
          ? `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity task with sequence number ${id} ` +
              `named '${name}', but the current orchestration replay instead scheduled an activity task named '${action.name}' with this sequence number.  ` +
              'Was a change made to the orchestrator code after this instance had already started running?'
          : `Non-Deterministic workflow detected: A previous execution of this orchestration scheduled a sub-orchestration task with sequence ID ${id} ` +
              `and name '${name}' (version '', instance ID '${str(event, 'InstanceId') ?? ''}'), but the current orchestration replay instead ` +
              `scheduled a sub-orchestration task with name ${action.name} at this sequence number. Was a change made to the orchestrator code after this instance had already started running?`,
      );
    }
    this.actionMap.delete(id);
  }

  private resolve(id: number | undefined, outcome: 'completed' | 'failed'): void {
    if (id === undefined) return;
    const task = this.openTasks.get(id);
    if (!task) return; // a duplicate, or the completion of a cancelled timer
    this.openTasks.delete(id);
    task.settle(outcome);
  }

  private raise(event: HistoryEvent): void {
    const name = str(event, 'Name') ?? '';
    if (this.continueAsNewInput) {
      // Events that arrive after continueAsNew go to the next generation (CarryoverUnprocessedEvents).
      this.carryOver.push(event);
      return;
    }
    const waiters = this.eventWaiters.get(name);
    const waiter = waiters?.pop();
    if (waiters && waiters.length === 0) this.eventWaiters.delete(name);
    if (waiter) {
      waiter.settle('completed');
      return;
    }
    const buffer = this.bufferedEvents.get(name) ?? [];
    buffer.push(event);
    this.bufferedEvents.set(name, buffer);
  }

  // ---- the replayed program: the worker's actions, in order

  private actionsToRun(): { sequential: OrchestratorAction[] } | { sets: OrchestratorAction[][] } {
    if (this.state.schemaVersion === ReplaySchema.V1) return { sets: this.state.actions };
    if (this.state.actions.length !== 1) {
      throw new ShimFailure(
        `With OOProc schema ${ReplaySchema[this.state.schemaVersion]}, expected actions array to be of length 1 in outer layer but got size: ${this.state.actions.length}`,
      );
    }
    return { sequential: this.state.actions[0] ?? [] };
  }

  private startProgram(): void {
    let plan: ReturnType<ShimRun['actionsToRun']>;
    try {
      plan = this.actionsToRun();
    } catch (e) {
      this.fail(e);
      return;
    }
    if ('sequential' in plan) {
      const actions = plan.sequential;
      let index = 0;
      const advance = (): void => {
        while (index < actions.length && this.failure === undefined) {
          const action = actions[index++] as OrchestratorAction;
          const task = this.invokeGuarded(action);
          if (!task) return;
          if (!task.done) {
            task.onDone(advance);
            return;
          }
        }
      };
      advance();
    } else {
      const sets = plan.sets;
      let index = 0;
      const advance = (): void => {
        while (index < sets.length && this.failure === undefined) {
          const set = sets[index++] as OrchestratorAction[];
          const tasks: HostTask[] = [];
          for (const action of set) {
            const task = this.invokeGuarded(action);
            if (!task) return;
            if (action.actionType !== ActionType.ContinueAsNew) tasks.push(task);
          }
          if (tasks.length > 0 && !tasks.some((t) => t.done)) {
            const any = this.whenAny(tasks);
            any.onDone(advance);
            return;
          }
        }
      };
      advance();
    }
  }

  private invokeGuarded(action: OrchestratorAction): HostTask | undefined {
    try {
      return this.invoke(action);
    } catch (e) {
      this.fail(e);
      return undefined;
    }
  }

  private fail(e: unknown): void {
    if (e instanceof NonDeterminismError) throw e;
    if (this.failure === undefined) this.failure = e instanceof Error ? e.message : String(e);
  }

  private invoke(action: OrchestratorAction): HostTask {
    switch (action.actionType) {
      case ActionType.CallActivity:
        return this.scheduleActivity(this.requireActivity(action), activityInputJson(action.input));
      case ActionType.CallActivityWithRetry: {
        const name = this.requireActivity(action);
        const input = activityInputJson(action.input);
        return this.withRetry(action, () => this.scheduleActivity(name, input));
      }
      case ActionType.CallSubOrchestrator: {
        const name = this.requireOrchestrator(action);
        return this.scheduleSubOrchestration(name, action.instanceId, jsonOrNull(action.input));
      }
      case ActionType.CallSubOrchestratorWithRetry: {
        const name = this.requireOrchestrator(action);
        const input = jsonOrNull(action.input);
        return this.withRetry(action, () => this.scheduleSubOrchestration(name, action.instanceId, input));
      }
      case ActionType.ContinueAsNew:
        // DurableTask.Core serializes the (already encoded) input once more.
        this.continueAsNewInput = { input: jsonOrNull(action.input) };
        return completedTask();
      case ActionType.CreateTimer:
        return this.createTimer(action);
      case ActionType.WaitForExternalEvent:
        return this.waitForEvent(action.externalEventName ?? '');
      case ActionType.WhenAll:
        return this.whenAll((action.compoundActions ?? []).map((a) => this.invoke(a)));
      case ActionType.WhenAny:
        return this.whenAny((action.compoundActions ?? []).map((a) => this.invoke(a)));
      case ActionType.CallEntity:
      case ActionType.SignalEntity:
      case ActionType.ScheduledSignalEntity:
      case ActionType.LockEntities:
      case ActionType.ReleaseEntities:
        throw new ShimFailure(
          `Durable entities are not supported by the local Functions host (the orchestration used ${actionTypeName(action.actionType)}).`,
        );
      case ActionType.CallHttp:
        throw new ShimFailure('callHttp (durable HTTP) is not supported by the local Functions host.');
      default:
        throw new ShimFailure(`Received an unexpected action type from the out-of-proc function: '${String(action.actionType)}'.`);
    }
  }

  private requireActivity(action: OrchestratorAction): string {
    return requireRegistered(this.options.activities, action.functionName ?? '', 'activity');
  }

  private requireOrchestrator(action: OrchestratorAction): string {
    const name = requireRegistered(this.options.orchestrators, action.functionName ?? '', 'orchestrator');
    const id = action.instanceId;
    if (
      id !== undefined &&
      (id.toLowerCase() === this.options.instanceId.toLowerCase() ||
        (this.options.parentInstanceId !== undefined && id.toLowerCase() === this.options.parentInstanceId.toLowerCase()))
    ) {
      throw new ShimFailure('The instance ID of a sub-orchestration must be different than the instance ID of a parent orchestration.');
    }
    return name;
  }

  private scheduleActivity(name: string, input: string | null): HostTask {
    const id = this.nextId++;
    this.actionMap.set(id, { kind: 'activity', name, input });
    const task = new HostTask();
    this.openTasks.set(id, task);
    return task;
  }

  private scheduleSubOrchestration(name: string, instanceId: string | undefined, input: string | null): HostTask {
    const id = this.nextId++;
    const childId = instanceId && instanceId.length > 0 ? instanceId : `${this.options.instanceId}:${id.toString(16).padStart(16, '0')}`;
    this.actionMap.set(id, { kind: 'subOrchestration', name, instanceId: childId, input });
    const task = new HostTask();
    this.openTasks.set(id, task);
    return task;
  }

  private scheduleTimer(fireAtMs: number): { id: number; task: HostTask } {
    const id = this.nextId++;
    this.actionMap.set(id, { kind: 'timer', fireAt: new Date(fireAtMs).toISOString() });
    const task = new HostTask();
    this.openTasks.set(id, task);
    return { id, task };
  }

  private createTimer(action: OrchestratorAction): HostTask {
    const fireAtMs = Date.parse(action.fireAt ?? '');
    if (Number.isNaN(fireAtMs)) throw new ShimFailure(`CreateTimer: invalid fireAt ${JSON.stringify(action.fireAt)}`);
    const canceled = action.isCanceled === true;
    if (fireAtMs - this.nowMs <= this.options.maxShortTimerMs) {
      const { id, task } = this.scheduleTimer(fireAtMs);
      if (canceled) {
        this.openTasks.delete(id);
        task.settle('canceled');
      }
      return task;
    }
    // A long timer: intervals of longTimerIntervalMs until fireAt (DurableOrchestrationContext.CreateTimer).
    const outer = new HostTask();
    const next = (intervalFireAtMs: number): void => {
      const { id, task } = this.scheduleTimer(intervalFireAtMs);
      if (canceled) {
        this.openTasks.delete(id);
        task.settle('canceled');
        outer.settle('canceled');
        return;
      }
      task.onDone(() => {
        const remaining = fireAtMs - this.nowMs;
        if (remaining <= 0) outer.settle('completed');
        else if (remaining < this.options.longTimerIntervalMs) next(this.nowMs + remaining);
        else next(this.nowMs + this.options.longTimerIntervalMs);
      });
    };
    next(this.nowMs + this.options.longTimerIntervalMs);
    return outer;
  }

  private waitForEvent(name: string): HostTask {
    const task = new HostTask();
    const waiters = this.eventWaiters.get(name) ?? [];
    waiters.push(task);
    this.eventWaiters.set(name, waiters);
    const buffer = this.bufferedEvents.get(name);
    if (buffer && buffer.length > 0) {
      buffer.shift();
      if (buffer.length === 0) this.bufferedEvents.delete(name);
      const top = waiters.pop();
      if (waiters.length === 0) this.eventWaiters.delete(name);
      top?.settle('completed');
    }
    return task;
  }

  /** DurableTask.Core RetryInterceptor: attempt, then a timer after every failure, up to maxNumberOfAttempts. */
  private withRetry(action: OrchestratorAction, attempt: () => HostTask): HostTask {
    if (!action.retryOptions) throw new ShimFailure(`${actionTypeName(action.actionType)}: retryOptions are required`);
    const policy = toRetryPolicy(action.retryOptions);
    const outer = new HostTask();
    let retryCount = 0;
    const tryOnce = (): void => {
      const task = attempt();
      task.onDone(() => {
        if (task.state === 'completed') {
          outer.settle('completed');
          return;
        }
        const delay = retryDelayMs(policy, retryCount);
        const timer = this.scheduleTimer(this.nowMs + delay).task;
        timer.onDone(() => {
          retryCount++;
          if (retryCount < policy.maxNumberOfAttempts) tryOnce();
          else outer.settle('failed');
        });
      });
    };
    tryOnce();
    return outer;
  }

  /** Task.WhenAll: done when every child is done (failures do not short-circuit). */
  private whenAll(tasks: HostTask[]): HostTask {
    const outer = new HostTask();
    let remaining = tasks.length;
    if (remaining === 0) outer.settle('completed');
    let failed = false;
    for (const t of tasks) {
      t.onDone(() => {
        if (t.state !== 'completed') failed = true;
        remaining--;
        if (remaining === 0) outer.settle(failed ? 'failed' : 'completed');
      });
    }
    return outer;
  }

  /** Task.WhenAny: done when the first child is done (whatever its outcome). */
  private whenAny(tasks: HostTask[]): HostTask {
    const outer = new HostTask();
    if (tasks.length === 0) outer.settle('completed');
    for (const t of tasks) t.onDone(() => outer.settle('completed'));
    return outer;
  }
}

/** The `ExecutionStarted` input carried by the first event of `history`, for the trigger payload. */
export function executionInput(history: readonly HistoryEvent[]): string | null {
  const started = history.find((e) => e.EventType === EventType.ExecutionStarted);
  return started ? nullableStr(started, 'Input') : null;
}
