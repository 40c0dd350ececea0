/**
 * The Durable Functions engine of the devhost: it keeps every orchestration instance (in memory,
 * mirrored in a DurableStore), runs orchestrator episodes through `FunctionHost.invoke` with the
 * replay engine of the `durable-functions` package in the worker, replays the returned actions
 * host-side (replayShim) and turns them into history and work: activity invocations, durable
 * timers, sub-orchestrations, continue-as-new. Completions go to the instance's inbox (durably,
 * before anything depends on them) and the next episode consumes them.
 *
 * Guarantees: at most one episode per instance at a time; an episode's history, record and new
 * messages are committed atomically before its work is dispatched; a completed activity's result
 * is stored before its work item is forgotten, so after a crash it is found (by its sequence id)
 * and never run again; work that was dispatched but not completed is re-dispatched on start
 * (at-least-once, as in Azure). Concurrency: maxConcurrentActivityFunctions and
 * maxConcurrentOrchestratorFunctions.
 */
import { randomUUID } from 'node:crypto';
import type { FunctionHost, InvocationResult, LogLevel, RegisteredFunction } from '../hostTypes';
import { events, EventType, HistoryEvent, nullableStr, OrchestrationStatusCode, ParentInstanceInfo } from './historyEvents';
import {
  completionKey,
  EpisodeCommit,
  InboxMessage,
  InstanceRecord,
  isActiveStatus,
  isTerminalStatus,
  messageKeys,
  nextSeq,
  openWork,
  RuntimeStatus,
  validateInstanceId,
} from './instanceModel';
import { jsonOrNull, NewWork, replayOrchestration } from './replayShim';
import { KeyedMutex, TimerWheel, WorkPump } from './scheduling';
import type { DurableStore } from './store';
import {
  activityFailure,
  activityResultJson,
  activityTriggerData,
  DEFAULT_LONG_TIMER_INTERVAL_MS,
  DEFAULT_MAX_SHORT_TIMER_MS,
  orchestrationTriggerData,
  parseJsonLenient,
  readOrchestratorOutcome,
} from './workerProtocol';

export interface EngineOptions {
  host: FunctionHost;
  store: DurableStore;
  maxConcurrentActivityFunctions?: number;
  maxConcurrentOrchestratorFunctions?: number;
  /** Timers further away are split into `longTimerIntervalMs` intervals (6 days, as Azure Storage). */
  maxShortTimerMs?: number;
  longTimerIntervalMs?: number;
  /** Carry all unconsumed external events into the next generation on continueAsNew. */
  preserveUnprocessedEvents?: boolean;
  now?: () => number;
}

export type StartResult =
  | { kind: 'started'; instanceId: string }
  | { kind: 'conflict'; message: string }
  | { kind: 'badRequest'; message: string };

export type ControlResult = 'accepted' | 'notFound' | 'gone';

export interface StatusOptions {
  showHistory?: boolean;
  showHistoryOutput?: boolean;
  showInput?: boolean;
}

export interface InstanceStatus {
  record: InstanceRecord;
  history?: HistoryEvent[];
}

export interface InstanceQuery {
  createdTimeFrom?: Date;
  createdTimeTo?: Date;
  runtimeStatus?: RuntimeStatus[];
  instanceIdPrefix?: string;
}

interface Runtime {
  record: InstanceRecord;
  /** History and inbox are held for instances that can still run. */
  loaded: boolean;
  history: HistoryEvent[];
  inbox: InboxMessage[];
  /** `kind:id` of every completion in `history`. */
  answered: Set<string>;
  /** Last OrchestratorStarted time in `history`. */
  lastEpisodeMs: number;
  episodeRunning: boolean;
  episodeQueued: boolean;
  retryTimer?: NodeJS.Timeout;
  deleted: boolean;
}

interface ActivityJob {
  instanceId: string;
  executionId: string;
  id: number;
  name: string;
  input: string | null;
}

const DEFAULT_CONCURRENCY = 10;
const COMMIT_RETRY_MS = 1000;

function findFunction(functions: readonly RegisteredFunction[], triggerType: string, name: string): RegisteredFunction | undefined {
  const lower = name.toLowerCase();
  return functions.find((f) => f.trigger.type === triggerType && f.name.toLowerCase() === lower);
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class DurableEngine {
  private readonly host: FunctionHost;
  private readonly store: DurableStore;
  private readonly now: () => number;
  private readonly maxShortTimerMs: number;
  private readonly longTimerIntervalMs: number;
  private readonly preserveUnprocessedEvents: boolean;
  private readonly runtimes = new Map<string, Runtime>();
  private readonly mutex = new KeyedMutex();
  private readonly timers: TimerWheel;
  private readonly orchestrators: WorkPump<Runtime>;
  private readonly activities: WorkPump<ActivityJob>;
  /** Activity work items queued or running, by `instanceId|executionId|id`. */
  private readonly activityKeys = new Set<string>();
  private readonly background = new Set<Promise<unknown>>();
  private stopped = false;
  private started = false;

  constructor(options: EngineOptions) {
    this.host = options.host;
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.maxShortTimerMs = options.maxShortTimerMs ?? DEFAULT_MAX_SHORT_TIMER_MS;
    this.longTimerIntervalMs = options.longTimerIntervalMs ?? DEFAULT_LONG_TIMER_INTERVAL_MS;
    this.preserveUnprocessedEvents = options.preserveUnprocessedEvents ?? false;
    this.timers = new TimerWheel(this.now);
    this.orchestrators = new WorkPump<Runtime>(
      Math.max(1, options.maxConcurrentOrchestratorFunctions ?? DEFAULT_CONCURRENCY),
      (rt) => this.runEpisode(rt),
      (e) => this.log('error', `Durable: orchestrator episode failed unexpectedly: ${errorMessage(e)}`),
    );
    this.activities = new WorkPump<ActivityJob>(
      Math.max(1, options.maxConcurrentActivityFunctions ?? DEFAULT_CONCURRENCY),
      (job) => this.runActivity(job),
      (e) => this.log('error', `Durable: activity dispatch failed unexpectedly: ${errorMessage(e)}`),
    );
  }

  // ---------------------------------------------------------------- lifecycle

  /** Loads every instance from the store and resumes the unfinished ones. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.store.init();
    const records = await this.store.listRecords();
    const resumed: Runtime[] = [];
    for (const record of records) {
      if (isTerminalStatus(record.runtimeStatus)) {
        this.runtimes.set(record.instanceId, this.newRuntime(record, false));
        continue;
      }
      const stored = await this.store.loadInstance(record.instanceId);
      if (!stored) continue;
      const rt = this.newRuntime(stored.record, true);
      this.appendHistory(rt, stored.history);
      rt.inbox = stored.inbox;
      this.runtimes.set(record.instanceId, rt);
      resumed.push(rt);
    }
    for (const rt of resumed) this.redispatch(rt);
    if (resumed.length > 0) this.log('information', `Durable: resumed ${resumed.length} orchestration instance(s) from storage.`);
  }

  /** Stops dispatching and waits for running work (up to `timeoutMs`); stored state stays as it is. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    this.timers.stop();
    this.orchestrators.pause();
    this.activities.pause();
    for (const rt of this.runtimes.values()) if (rt.retryTimer) clearTimeout(rt.retryTimer);
    const settle = Promise.allSettled([this.orchestrators.drain(), this.activities.drain(), ...this.background]);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settle, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    if (timer) clearTimeout(timer);
  }

  /** True when nothing is queued, running or waiting on a timer (tests, benchmarks). */
  get idle(): boolean {
    return this.orchestrators.size === 0 && this.activities.size === 0 && this.background.size === 0;
  }

  // ---------------------------------------------------------------- client operations

  listOrchestrators(): string[] {
    return this.host.functions.filter((f) => f.trigger.type === 'orchestrationTrigger').map((f) => f.name);
  }

  listActivities(): string[] {
    return this.host.functions.filter((f) => f.trigger.type === 'activityTrigger').map((f) => f.name);
  }

  /** Starts `name` with `input` (a JSON text or null); refuses an id whose instance is still active. */
  async startNew(name: string, instanceId: string | undefined, input: string | null): Promise<StartResult> {
    const fn = findFunction(this.host.functions, 'orchestrationTrigger', name);
    if (!fn) return { kind: 'badRequest', message: this.unknownOrchestratorMessage(name) };
    const id = instanceId && instanceId.length > 0 ? instanceId : randomUUID().replace(/-/g, '');
    const invalid = validateInstanceId(id);
    if (invalid) return { kind: 'badRequest', message: invalid };
    return this.createInstance(fn.name, id, input, undefined);
  }

  async getStatus(instanceId: string, options: StatusOptions = {}): Promise<InstanceStatus | undefined> {
    const rt = this.runtimes.get(instanceId);
    if (!rt) return undefined;
    const record = { ...rt.record };
    if (!options.showHistory || record.runtimeStatus === 'Pending') return { record };
    const history = rt.loaded ? rt.history.slice() : await this.store.loadHistory(instanceId, record.executionId);
    return { record, history };
  }

  query(filter: InstanceQuery = {}): InstanceRecord[] {
    const out: InstanceRecord[] = [];
    for (const rt of this.runtimes.values()) {
      const r = rt.record;
      const created = Date.parse(r.createdTime);
      if (filter.createdTimeFrom && created < filter.createdTimeFrom.getTime()) continue;
      if (filter.createdTimeTo && created > filter.createdTimeTo.getTime()) continue;
      if (filter.runtimeStatus && filter.runtimeStatus.length > 0 && !filter.runtimeStatus.includes(r.runtimeStatus)) continue;
      if (filter.instanceIdPrefix && !r.instanceId.startsWith(filter.instanceIdPrefix)) continue;
      out.push({ ...r });
    }
    return out.sort((a, b) => a.createdTime.localeCompare(b.createdTime) || a.instanceId.localeCompare(b.instanceId));
  }

  async raiseEvent(instanceId: string, eventName: string, dataJson: string | null): Promise<ControlResult> {
    const rt = this.runtimes.get(instanceId);
    if (!rt) return 'notFound';
    if (isTerminalStatus(rt.record.runtimeStatus)) return 'gone';
    const message: InboxMessage = {
      key: messageKeys.unique('event'),
      seq: nextSeq(),
      event: events.eventRaised(this.isoNow(), eventName, dataJson),
    };
    await this.deliver(instanceId, message);
    return 'accepted';
  }

  async terminate(instanceId: string, reason: string | null): Promise<ControlResult> {
    return this.control(instanceId, 'terminate', events.executionTerminated(this.isoNow(), reason));
  }

  async suspend(instanceId: string, reason: string | null): Promise<ControlResult> {
    return this.control(instanceId, 'suspend', events.executionSuspended(this.isoNow(), reason));
  }

  async resume(instanceId: string, reason: string | null): Promise<ControlResult> {
    return this.control(instanceId, 'resume', events.executionResumed(this.isoNow(), reason));
  }

  /** Starts the instance again with its last input (under the same or a new id). */
  async restart(instanceId: string, withNewInstanceId: boolean): Promise<StartResult | undefined> {
    const rt = this.runtimes.get(instanceId);
    if (!rt) return undefined;
    return this.startNew(rt.record.name, withNewInstanceId ? undefined : instanceId, rt.record.input);
  }

  /** Deletes an instance with its history; returns how many instances were deleted. */
  async purge(instanceId: string): Promise<number> {
    const rt = this.runtimes.get(instanceId);
    if (!rt) return 0;
    await this.mutex.run(instanceId, async () => {
      if (this.runtimes.get(instanceId) !== rt) return;
      rt.deleted = true;
      if (rt.retryTimer) clearTimeout(rt.retryTimer);
      this.runtimes.delete(instanceId);
      this.timers.cancel((key) => key.startsWith(`${instanceId}|`));
      await this.store.purge(instanceId);
    });
    return 1;
  }

  async purgeWhere(filter: InstanceQuery): Promise<number> {
    let count = 0;
    for (const record of this.query(filter)) count += await this.purge(record.instanceId);
    return count;
  }

  // ---------------------------------------------------------------- instances

  private newRuntime(record: InstanceRecord, loaded: boolean): Runtime {
    return {
      record,
      loaded,
      history: [],
      inbox: [],
      answered: new Set(),
      lastEpisodeMs: 0,
      episodeRunning: false,
      episodeQueued: false,
      deleted: false,
    };
  }

  private appendHistory(rt: Runtime, added: readonly HistoryEvent[]): void {
    for (const event of added) {
      rt.history.push(event);
      const key = completionKey(event);
      if (key) rt.answered.add(key);
      if (event.EventType === EventType.OrchestratorStarted) {
        const t = Date.parse(event.Timestamp);
        if (t > rt.lastEpisodeMs) rt.lastEpisodeMs = t;
      }
    }
  }

  private unknownOrchestratorMessage(name: string): string {
    const known = this.listOrchestrators();
    return (
      `The function '${name}' doesn't exist, is disabled, or is not an orchestrator function. Additional info: ` +
      (known.length > 0 ? `The following are the known orchestrator functions: '${known.join("', '")}'.` : 'No orchestrator functions are currently registered!')
    );
  }

  private async createInstance(
    name: string,
    instanceId: string,
    input: string | null,
    parent: ParentInstanceInfo | undefined,
  ): Promise<StartResult> {
    const invalid = validateInstanceId(instanceId);
    if (invalid) return { kind: 'badRequest', message: invalid };
    return this.mutex.run(instanceId, async () => {
      const existing = this.runtimes.get(instanceId);
      if (existing && isActiveStatus(existing.record.runtimeStatus)) {
        return {
          kind: 'conflict',
          message: `An orchestration instance with the ID '${instanceId}' already exists and is ${existing.record.runtimeStatus.toLowerCase()}.`,
        };
      }
      const nowIso = this.isoNow();
      const executionId = randomUUID().replace(/-/g, '');
      const record: InstanceRecord = {
        instanceId,
        name,
        executionId,
        runtimeStatus: 'Pending',
        input,
        output: null,
        customStatus: null,
        createdTime: nowIso,
        lastUpdatedTime: nowIso,
        episode: 0,
        ...(parent ? { parent } : {}),
      };
      const start: InboxMessage = {
        key: messageKeys.start(executionId),
        executionId,
        seq: nextSeq(),
        event: events.executionStarted(nowIso, { name, input, instanceId, executionId, parent }),
      };
      await this.store.createInstance(record, [start], existing?.record);
      if (existing) existing.deleted = true;
      const rt = this.newRuntime(record, true);
      rt.inbox.push(start);
      this.runtimes.set(instanceId, rt);
      this.log('information', `Durable: orchestration '${name}' (instance ${instanceId}) scheduled.`);
      this.scheduleEpisode(rt);
      return { kind: 'started', instanceId };
    });
  }

  private async control(instanceId: string, kind: string, event: HistoryEvent): Promise<ControlResult> {
    const rt = this.runtimes.get(instanceId);
    if (!rt) return 'notFound';
    if (isTerminalStatus(rt.record.runtimeStatus)) return 'gone';
    await this.deliver(instanceId, { key: messageKeys.unique(kind), seq: nextSeq(), event });
    return 'accepted';
  }

  /** Stores `message` in the instance's inbox, then lets an episode pick it up. */
  private async deliver(instanceId: string, message: InboxMessage): Promise<boolean> {
    const rt = this.runtimes.get(instanceId);
    if (!rt || rt.deleted || !rt.loaded) return false;
    if (message.executionId !== undefined && message.executionId !== rt.record.executionId) return false;
    await this.store.enqueue(instanceId, message);
    if (this.runtimes.get(instanceId) !== rt || !rt.loaded) return false;
    const at = rt.inbox.findIndex((m) => m.key === message.key);
    if (at >= 0) rt.inbox[at] = message;
    else rt.inbox.push(message);
    this.scheduleEpisode(rt);
    return true;
  }

  private scheduleEpisode(rt: Runtime): void {
    if (this.stopped || rt.deleted || !rt.loaded || rt.episodeRunning || rt.episodeQueued || !this.hasRunnableMessages(rt)) return;
    rt.episodeQueued = true;
    this.orchestrators.push(rt);
  }

  /** A suspended instance only acts on resume/terminate; other messages wait in the inbox. */
  private hasRunnableMessages(rt: Runtime): boolean {
    if (rt.record.runtimeStatus !== 'Suspended') return rt.inbox.length > 0;
    return rt.inbox.some(
      (m) =>
        m.event.EventType === EventType.ExecutionResumed ||
        m.event.EventType === EventType.ExecutionTerminated ||
        m.event.EventType === EventType.ExecutionSuspended ||
        (m.executionId !== undefined && m.executionId !== rt.record.executionId),
    );
  }

  /** After a restart: dispatch again whatever was scheduled and has not completed. */
  private redispatch(rt: Runtime): void {
    const record = rt.record;
    const work = openWork(rt.history, rt.inbox);
    for (const a of work.activities) this.enqueueActivity(record.instanceId, record.executionId, a);
    for (const t of work.timers) this.armTimer(record.instanceId, record.executionId, t.id, t.fireAt);
    for (const s of work.subOrchestrations) {
      this.track(this.ensureSubOrchestration(rt, { kind: 'subOrchestration', ...s }));
    }
    this.scheduleEpisode(rt);
  }

  // ---------------------------------------------------------------- episodes

  private async runEpisode(rt: Runtime): Promise<void> {
    rt.episodeQueued = false;
    if (this.stopped || rt.deleted || !rt.loaded || this.runtimes.get(rt.record.instanceId) !== rt) return;
    rt.episodeRunning = true;
    try {
      await this.episode(rt);
    } catch (e) {
      // Storage trouble (or a bug): keep the inbox and try again a little later.
      this.log('error', `Durable: episode of instance ${rt.record.instanceId} failed and will be retried: ${errorMessage(e)}`);
      if (!this.stopped && !rt.deleted) {
        rt.retryTimer = setTimeout(() => {
          rt.retryTimer = undefined;
          this.scheduleEpisode(rt);
        }, COMMIT_RETRY_MS);
      }
    } finally {
      rt.episodeRunning = false;
      if (!rt.retryTimer) this.scheduleEpisode(rt);
    }
  }

  private async episode(rt: Runtime): Promise<void> {
    const record = rt.record;
    const batch = rt.inbox.slice().sort((a, b) => a.seq - b.seq);
    const processed: string[] = [];
    const episodeEvents: HistoryEvent[] = [];
    let terminate: HistoryEvent | undefined;
    let suspended = record.runtimeStatus === 'Suspended';
    let applied = 0;
    const seen = new Set<string>();
    for (const m of batch) {
      if (terminate) {
        processed.push(m.key);
        continue;
      }
      const ck = completionKey(m.event);
      if ((m.executionId !== undefined && m.executionId !== record.executionId) || (ck && (rt.answered.has(ck) || seen.has(ck)))) {
        processed.push(m.key); // stale (another execution) or a duplicate delivery
        continue;
      }
      switch (m.event.EventType) {
        case EventType.ExecutionTerminated:
          terminate = m.event;
          processed.push(m.key);
          continue;
        case EventType.ExecutionSuspended:
          if (!suspended) episodeEvents.push({ ...m.event, IsPlayed: false });
          suspended = true;
          processed.push(m.key);
          continue;
        case EventType.ExecutionResumed:
          if (suspended) episodeEvents.push({ ...m.event, IsPlayed: false });
          suspended = false;
          processed.push(m.key);
          continue;
        default:
          if (suspended) continue; // stays in the inbox until resumed
          if (ck) seen.add(ck);
          episodeEvents.push({ ...m.event, IsPlayed: false });
          processed.push(m.key);
          applied++;
      }
    }
    if (processed.length === 0) return;

    const nowMs = Math.max(this.now(), rt.lastEpisodeMs);
    const nowIso = new Date(nowMs).toISOString();
    const started = events.orchestratorStarted(nowIso);

    if (terminate) {
      const reason = nullableStr(terminate, 'Input');
      const added = [
        started,
        ...episodeEvents.filter((e) => e.EventType === EventType.ExecutionSuspended || e.EventType === EventType.ExecutionResumed),
        { ...terminate, IsPlayed: false },
        events.executionCompleted(nowIso, OrchestrationStatusCode.Terminated, reason),
        events.orchestratorCompleted(nowIso),
      ];
      await this.finish(rt, { status: 'Terminated', output: reason, customStatus: record.customStatus }, added, processed);
      this.log('information', `Durable: instance ${record.instanceId} terminated${reason ? `: ${reason}` : ''}.`);
      return;
    }

    if (applied === 0) {
      // Only suspend/resume, duplicates or stale messages.
      const controlEvents = episodeEvents;
      if (controlEvents.length === 0) {
        await this.store.deleteMessages(record.instanceId, processed);
        this.consume(rt, processed);
        return;
      }
      const next: InstanceRecord = {
        ...record,
        runtimeStatus: suspended ? 'Suspended' : record.runtimeStatus === 'Suspended' ? 'Running' : record.runtimeStatus,
        lastUpdatedTime: nowIso,
        episode: record.episode + 1,
      };
      await this.commit(rt, next, [started, ...controlEvents, events.orchestratorCompleted(nowIso)], processed, []);
      return;
    }

    const fn = findFunction(this.host.functions, 'orchestrationTrigger', record.name);
    const added: HistoryEvent[] = [started, ...episodeEvents];
    if (!fn) {
      const reason = `Orchestrator function '${record.name}' failed: ${this.unknownOrchestratorMessage(record.name)}`;
      await this.fail(rt, added, processed, nowIso, reason, reason, record.customStatus);
      return;
    }
    const fullHistory = [...rt.history.map((e) => ({ ...e, IsPlayed: true })), ...added];
    const startedEvent = fullHistory.find((e) => e.EventType === EventType.ExecutionStarted);
    const inputJson = startedEvent ? nullableStr(startedEvent, 'Input') : null;
    const invocationId = randomUUID();
    const result: InvocationResult = await this.host.invoke(fn.name, {
      invocationId,
      inputData: [
        {
          name: fn.triggerName,
          data: orchestrationTriggerData({
            history: fullHistory,
            input: parseJsonLenient(inputJson),
            instanceId: record.instanceId,
            isReplaying: rt.history.length > 0,
            parentInstanceId: record.parent?.instanceId ?? null,
            maxShortTimerMs: this.maxShortTimerMs,
            longTimerIntervalMs: this.longTimerIntervalMs,
          }),
        },
      ],
    });
    if (rt.deleted || this.stopped) return;
    const outcome = readOrchestratorOutcome(result.returnValue, result.error);
    if (outcome.kind === 'failed') {
      const reason = `Orchestrator function '${record.name}' failed: ${outcome.message}`;
      await this.fail(rt, added, processed, nowIso, reason, outcome.details, record.customStatus);
      return;
    }
    const state = outcome.state;
    const customStatus = state.customStatus === undefined ? null : jsonOrNull(state.customStatus);
    const shim = replayOrchestration(fullHistory, state, {
      instanceId: record.instanceId,
      orchestrationName: record.name,
      parentInstanceId: record.parent?.instanceId,
      activities: this.listActivities(),
      orchestrators: this.listOrchestrators(),
      maxShortTimerMs: this.maxShortTimerMs,
      longTimerIntervalMs: this.longTimerIntervalMs,
      preserveUnprocessedEvents: this.preserveUnprocessedEvents,
    });
    if (shim.nonDeterminism !== undefined) {
      await this.fail(rt, added, processed, nowIso, shim.nonDeterminism, shim.nonDeterminism, customStatus);
      this.log('error', `Durable: instance ${record.instanceId} failed: ${shim.nonDeterminism}`, fn.name, invocationId);
      return;
    }
    const failure = shim.failure ?? state.error;
    if (failure !== undefined) {
      const reason = `Orchestrator function '${record.name}' failed: ${failure}`;
      const details = `Message: ${failure}, StackTrace: ${result.error?.stack ?? ''}`;
      await this.fail(rt, added, processed, nowIso, reason, details, customStatus);
      this.log('warning', `Durable: instance ${record.instanceId} failed: ${failure}`, fn.name, invocationId);
      return;
    }
    if (shim.continueAsNew) {
      await this.continueAsNew(rt, added, processed, nowIso, shim.continueAsNew.input, shim.continueAsNew.carryOverEvents, customStatus);
      return;
    }
    if (state.isDone) {
      const output = jsonOrNull(state.output);
      added.push(events.executionCompleted(nowIso, OrchestrationStatusCode.Completed, output), events.orchestratorCompleted(nowIso));
      await this.finish(rt, { status: 'Completed', output, customStatus }, added, processed);
      this.log('information', `Durable: instance ${record.instanceId} completed.`, fn.name, invocationId);
      return;
    }
    for (const work of shim.newWork) added.push(this.schedulingEvent(nowIso, work));
    added.push(events.orchestratorCompleted(nowIso));
    const next: InstanceRecord = {
      ...record,
      runtimeStatus: suspended ? 'Suspended' : 'Running',
      customStatus,
      lastUpdatedTime: nowIso,
      episode: record.episode + 1,
    };
    await this.commit(rt, next, added, processed, []);
    if (rt.deleted) return;
    for (const work of shim.newWork) this.dispatch(rt, work);
  }

  private schedulingEvent(nowIso: string, work: NewWork): HistoryEvent {
    switch (work.kind) {
      case 'activity':
        return events.taskScheduled(nowIso, work.id, work.name, work.input);
      case 'timer':
        return events.timerCreated(nowIso, work.id, work.fireAt);
      case 'subOrchestration':
        return events.subOrchestrationCreated(nowIso, work.id, work.name, work.instanceId, work.input);
    }
  }

  private dispatch(rt: Runtime, work: NewWork): void {
    const { instanceId, executionId } = rt.record;
    switch (work.kind) {
      case 'activity':
        this.enqueueActivity(instanceId, executionId, work);
        break;
      case 'timer':
        this.armTimer(instanceId, executionId, work.id, work.fireAt);
        break;
      case 'subOrchestration':
        this.track(this.ensureSubOrchestration(rt, work));
        break;
    }
  }

  /** Commits an episode under the instance lock and applies it to the in-memory runtime. */
  private async commit(
    rt: Runtime,
    next: InstanceRecord,
    added: HistoryEvent[],
    processed: string[],
    newMessages: InboxMessage[],
  ): Promise<void> {
    const record = rt.record;
    await this.mutex.run(record.instanceId, async () => {
      if (rt.deleted || this.runtimes.get(record.instanceId) !== rt) return;
      const commit: EpisodeCommit = {
        record: next,
        executionId: record.executionId,
        episode: record.episode,
        events: added,
        processedKeys: processed,
        newMessages,
      };
      await this.store.commitEpisode(record.instanceId, commit);
      rt.record = next;
      if (next.executionId !== record.executionId) {
        rt.history = [];
        rt.answered = new Set();
      } else {
        this.appendHistory(rt, added);
      }
      this.consume(rt, processed);
      for (const m of newMessages) rt.inbox.push(m);
    });
  }

  private consume(rt: Runtime, keys: readonly string[]): void {
    const gone = new Set(keys);
    rt.inbox = rt.inbox.filter((m) => !gone.has(m.key));
  }

  private async fail(
    rt: Runtime,
    added: HistoryEvent[],
    processed: string[],
    nowIso: string,
    reason: string,
    details: string,
    customStatus: string | null,
  ): Promise<void> {
    added.push(
      events.executionCompleted(nowIso, OrchestrationStatusCode.Failed, reason, { ErrorType: 'OrchestrationFailureException', ErrorMessage: reason }),
      events.orchestratorCompleted(nowIso),
    );
    await this.finish(rt, { status: 'Failed', output: reason, customStatus, details }, added, processed);
  }

  /** Commits a final episode, releases the history and tells a parent orchestration. */
  private async finish(
    rt: Runtime,
    end: { status: RuntimeStatus; output: string | null; customStatus: string | null; details?: string },
    added: HistoryEvent[],
    processed: string[],
  ): Promise<void> {
    const record = rt.record;
    const nowIso = added[added.length - 1]?.Timestamp ?? this.isoNow();
    const next: InstanceRecord = {
      ...record,
      runtimeStatus: end.status,
      output: end.output,
      customStatus: end.customStatus,
      lastUpdatedTime: nowIso,
      episode: record.episode + 1,
    };
    await this.commit(rt, next, added, processed, []);
    if (rt.deleted || rt.record !== next) return;
    this.timers.cancel((key) => key.startsWith(`${record.instanceId}|${record.executionId}|`));
    // Finished instances keep only their record in memory; messages still in the inbox are dropped.
    const leftovers = rt.inbox.map((m) => m.key);
    rt.loaded = false;
    rt.history = [];
    rt.inbox = [];
    rt.answered = new Set();
    if (leftovers.length > 0) this.track(this.store.deleteMessages(record.instanceId, leftovers));
    if (next.parent) this.track(this.notifyParent(next, end.details));
  }

  private async continueAsNew(
    rt: Runtime,
    added: HistoryEvent[],
    processed: string[],
    nowIso: string,
    input: string | null,
    carryOver: HistoryEvent[],
    customStatus: string | null,
  ): Promise<void> {
    const record = rt.record;
    added.push(events.continueAsNew(nowIso, input), events.orchestratorCompleted(nowIso));
    const executionId = randomUUID().replace(/-/g, '');
    const next: InstanceRecord = {
      ...record,
      executionId,
      runtimeStatus: 'ContinuedAsNew',
      input,
      output: null,
      customStatus,
      lastUpdatedTime: nowIso,
      episode: 0,
    };
    const newMessages: InboxMessage[] = [
      {
        key: messageKeys.start(executionId),
        executionId,
        seq: nextSeq(),
        event: events.executionStarted(nowIso, {
          name: record.name,
          input,
          instanceId: record.instanceId,
          executionId,
          parent: record.parent,
        }),
      },
      ...carryOver.map((e) => ({ key: messageKeys.unique('event'), seq: nextSeq(), event: { ...e, IsPlayed: false } })),
    ];
    this.timers.cancel((key) => key.startsWith(`${record.instanceId}|${record.executionId}|`));
    await this.commit(rt, next, added, processed, newMessages);
  }

  // ---------------------------------------------------------------- activities

  private enqueueActivity(instanceId: string, executionId: string, work: { id: number; name: string; input: string | null }): void {
    const key = `${instanceId}|${executionId}|${work.id}`;
    if (this.activityKeys.has(key) || this.stopped) return;
    this.activityKeys.add(key);
    this.activities.push({ instanceId, executionId, id: work.id, name: work.name, input: work.input });
  }

  private async runActivity(job: ActivityJob): Promise<void> {
    const key = `${job.instanceId}|${job.executionId}|${job.id}`;
    try {
      const rt = this.runtimes.get(job.instanceId);
      if (!rt || !rt.loaded || rt.deleted || rt.record.executionId !== job.executionId) return;
      const messageKey = messageKeys.task(job.executionId, job.id);
      if (rt.answered.has(`task:${job.id}`) || rt.inbox.some((m) => m.key === messageKey)) return;
      const fn = findFunction(this.host.functions, 'activityTrigger', job.name);
      const nowIso = (): string => this.isoNow();
      let event: HistoryEvent;
      if (!fn) {
        const message = `Activity function '${job.name}' does not exist.`;
        event = events.taskFailed(nowIso(), job.id, `Activity function '${job.name}' failed: ${message}`, JSON.stringify({ Message: message }));
      } else {
        const result = await this.host.invoke(fn.name, {
          inputData: [{ name: fn.triggerName, data: activityTriggerData(job.input) }],
          triggerMetadata: { instanceId: { string: job.instanceId } },
        });
        if (result.error) {
          const failure = activityFailure(fn.name, result.error);
          event = events.taskFailed(nowIso(), job.id, failure.reason, failure.details);
        } else {
          event = events.taskCompleted(nowIso(), job.id, activityResultJson(result.returnValue));
        }
      }
      await this.deliverDurably(job.instanceId, { key: messageKey, executionId: job.executionId, seq: nextSeq(), event });
    } finally {
      this.activityKeys.delete(key);
    }
  }

  /** Delivers a completion, retrying storage failures for a while (the work is lost only if the host dies). */
  private async deliverDurably(instanceId: string, message: InboxMessage): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.deliver(instanceId, message);
        return;
      } catch (e) {
        if (attempt >= 5 || this.stopped) throw e;
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      }
    }
  }

  // ---------------------------------------------------------------- timers

  private armTimer(instanceId: string, executionId: string, id: number, fireAt: string): void {
    const dueMs = Date.parse(fireAt);
    this.timers.schedule(`${instanceId}|${executionId}|${id}`, Number.isNaN(dueMs) ? this.now() : dueMs, () => {
      const event = events.timerFired(this.isoNow(), id, fireAt);
      this.track(
        this.deliverDurably(instanceId, { key: messageKeys.timer(executionId, id), executionId, seq: nextSeq(), event }),
      );
    });
  }

  // ---------------------------------------------------------------- sub-orchestrations

  private async ensureSubOrchestration(parentRt: Runtime, work: Extract<NewWork, { kind: 'subOrchestration' }>): Promise<void> {
    const parent: ParentInstanceInfo = {
      name: parentRt.record.name,
      instanceId: parentRt.record.instanceId,
      executionId: parentRt.record.executionId,
      taskScheduledId: work.id,
    };
    const existing = this.runtimes.get(work.instanceId);
    const linked =
      existing?.record.parent !== undefined &&
      existing.record.parent.instanceId === parent.instanceId &&
      existing.record.parent.executionId === parent.executionId &&
      existing.record.parent.taskScheduledId === parent.taskScheduledId;
    if (existing && linked) {
      // Already created (recovery): report again if it finished meanwhile.
      if (isTerminalStatus(existing.record.runtimeStatus)) await this.notifyParent(existing.record);
      return;
    }
    const result = await this.createInstance(work.name, work.instanceId, work.input, parent);
    if (result.kind === 'started') return;
    const reason = `Orchestrator function '${work.name}' failed: ${result.message}`;
    await this.deliverDurably(parent.instanceId, {
      key: messageKeys.sub(parent.executionId, work.id),
      executionId: parent.executionId,
      seq: nextSeq(),
      event: events.subOrchestrationFailed(this.isoNow(), work.id, reason, JSON.stringify({ Message: result.message })),
    });
  }

  private async notifyParent(child: InstanceRecord, details?: string): Promise<void> {
    const parent = child.parent;
    if (!parent) return;
    const nowIso = this.isoNow();
    const event =
      child.runtimeStatus === 'Completed'
        ? events.subOrchestrationCompleted(nowIso, parent.taskScheduledId, child.output)
        : events.subOrchestrationFailed(
            nowIso,
            parent.taskScheduledId,
            child.runtimeStatus === 'Terminated'
              ? `Orchestration '${child.instanceId}' was terminated${child.output ? `: ${child.output}` : '.'}`
              : (child.output ?? `Orchestration '${child.instanceId}' failed.`),
            details ?? null,
          );
    await this.deliverDurably(parent.instanceId, {
      key: messageKeys.sub(parent.executionId, parent.taskScheduledId),
      executionId: parent.executionId,
      seq: nextSeq(),
      event,
    });
  }

  // ---------------------------------------------------------------- utilities

  private track(p: Promise<unknown>): void {
    const tracked = p
      .catch((e: unknown) => this.log('error', `Durable: ${errorMessage(e)}`))
      .finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  private log(level: LogLevel, message: string, functionName?: string, invocationId?: string): void {
    this.host.logger.log(level, message, functionName || invocationId ? { functionName, invocationId } : undefined);
  }
}
