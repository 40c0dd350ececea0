/**
 * What the engine keeps per orchestration instance and how it is persisted: the instance
 * record, its history (current execution only, appended one episode at a time), and its inbox of
 * messages (completions, timer firings, external events, start/terminate/suspend/resume) that the
 * next episode consumes. Inbox keys are deterministic where the message is (a task completion is
 * `<executionId>~task~<id>`), so writing a completion twice is harmless and an episode can tell a
 * duplicate by the id it answers. Pure.
 */
import { completionTarget, EventType, HistoryEvent, ParentInstanceInfo } from './historyEvents';

/** OrchestrationRuntimeStatus names (the management API's `runtimeStatus`). */
export type RuntimeStatus = 'Running' | 'Completed' | 'ContinuedAsNew' | 'Failed' | 'Canceled' | 'Terminated' | 'Pending' | 'Suspended';

export const RUNTIME_STATUSES: readonly RuntimeStatus[] = [
  'Running',
  'Completed',
  'ContinuedAsNew',
  'Failed',
  'Canceled',
  'Terminated',
  'Pending',
  'Suspended',
];

/** Statuses a new start with the same id must not override (OverridableStates.NonRunningStates). */
export function isActiveStatus(status: RuntimeStatus): boolean {
  return status === 'Running' || status === 'Pending' || status === 'ContinuedAsNew' || status === 'Suspended';
}

export function isTerminalStatus(status: RuntimeStatus): boolean {
  return status === 'Completed' || status === 'Failed' || status === 'Terminated' || status === 'Canceled';
}

export interface InstanceRecord {
  instanceId: string;
  name: string;
  executionId: string;
  runtimeStatus: RuntimeStatus;
  /** JSON text of the current execution's input. */
  input: string | null;
  /** JSON text of the output, or the failure/termination reason as plain text. */
  output: string | null;
  /** JSON text of the custom status. */
  customStatus: string | null;
  createdTime: string;
  lastUpdatedTime: string;
  /** Set for sub-orchestrations: where to report completion. */
  parent?: ParentInstanceInfo;
  /** Episodes committed in the current execution (orders the history chunks). */
  episode: number;
}

export interface InboxMessage {
  key: string;
  /** Messages for a specific execution (completions) are dropped by any other. */
  executionId?: string;
  /** Arrival order. */
  seq: number;
  event: HistoryEvent;
}

/** One committed episode: the events it appended and the inbox messages it consumed. */
export interface EpisodeCommit {
  record: InstanceRecord;
  /** Execution the events belong to (the record's execution, unless the episode continued-as-new). */
  executionId: string;
  /** Index of this episode within `executionId`. */
  episode: number;
  events: HistoryEvent[];
  processedKeys: string[];
  /** Messages the commit itself enqueues (the first messages of a continued-as-new execution). */
  newMessages: InboxMessage[];
}

/** The persisted picture of one instance, as recovery reads it. */
export interface StoredInstance {
  record: InstanceRecord;
  /** History of `record.executionId`, in order. */
  history: HistoryEvent[];
  /** Unprocessed messages, in arrival order. */
  inbox: InboxMessage[];
}

let seqCounter = 0;
/** Monotonic arrival sequence (milliseconds × 1000 + a counter), stable across restarts. */
export function nextSeq(): number {
  const now = Date.now() * 1000;
  seqCounter = Math.max(seqCounter + 1, now);
  return seqCounter;
}

export const messageKeys = {
  start: (executionId: string): string => `${executionId}~start`,
  task: (executionId: string, id: number): string => `${executionId}~task~${id}`,
  timer: (executionId: string, id: number): string => `${executionId}~timer~${id}`,
  sub: (executionId: string, id: number): string => `${executionId}~sub~${id}`,
  unique: (kind: string): string => `${kind}~${Date.now().toString(36)}~${Math.random().toString(36).slice(2, 10)}`,
};

/** Scheduled work that has no completion in `history` or in the given set of inbox keys. */
export interface OpenWork {
  activities: { id: number; name: string; input: string | null }[];
  timers: { id: number; fireAt: string }[];
  subOrchestrations: { id: number; name: string; instanceId: string; input: string | null }[];
}

export function openWork(history: readonly HistoryEvent[], inbox: readonly InboxMessage[]): OpenWork {
  const done = new Set<string>();
  for (const event of history) {
    const target = completionTarget(event);
    if (target) done.add(`${target.kind}:${target.id}`);
  }
  for (const message of inbox) {
    const target = completionTarget(message.event);
    if (target) done.add(`${target.kind}:${target.id}`);
  }
  const work: OpenWork = { activities: [], timers: [], subOrchestrations: [] };
  for (const event of history) {
    const id = event.EventId;
    switch (event.EventType) {
      case EventType.TaskScheduled:
        if (!done.has(`task:${id}`)) {
          work.activities.push({ id, name: String(event.Name ?? ''), input: typeof event.Input === 'string' ? event.Input : null });
        }
        break;
      case EventType.TimerCreated:
        if (!done.has(`timer:${id}`)) work.timers.push({ id, fireAt: String(event.FireAt ?? '') });
        break;
      case EventType.SubOrchestrationInstanceCreated:
        if (!done.has(`sub:${id}`)) {
          work.subOrchestrations.push({
            id,
            name: String(event.Name ?? ''),
            instanceId: String(event.InstanceId ?? ''),
            input: typeof event.Input === 'string' ? event.Input : null,
          });
        }
        break;
      default:
        break;
    }
  }
  return work;
}

/** The `kind:id` key of the scheduling event a completion answers (for duplicate detection). */
export function completionKey(event: HistoryEvent): string | undefined {
  const target = completionTarget(event);
  return target ? `${target.kind}:${target.id}` : undefined;
}

/** Instance ids the management API and sub-orchestrations may use (DurableClient.StartNewAsync rules). */
export function validateInstanceId(instanceId: string): string | undefined {
  if (instanceId.length === 0) return 'Instance IDs must not be empty.';
  if (instanceId.startsWith('@')) return 'Orchestration instance ids must not start with @.';
  // eslint-disable-next-line no-control-regex
  if (/[/\\#?\u0000-\u001f\u007f-\u009f]/.test(instanceId)) {
    return 'Orchestration instance ids must not contain /, \\, #, ?, or control characters.';
  }
  if (instanceId.length > 256) return 'Instance ID lengths must not exceed 256 characters.';
  return undefined;
}
