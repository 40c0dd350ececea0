/**
 * Orchestration history events in the wire shape the Durable Functions extension hands to
 * out-of-process workers (DurableTask.Core history events serialized by Newtonsoft with default
 * settings: PascalCase properties, `EventType` as its number). The `durable-functions` package
 * reads them in lib/src/history/ and lib/src/orchestrations/TaskOrchestrationExecutor.js. Pure.
 */

/** DurableTask.Core.History.EventType (same numbers as durable-functions' HistoryEventType). */
export enum EventType {
  ExecutionStarted = 0,
  ExecutionCompleted = 1,
  ExecutionFailed = 2,
  ExecutionTerminated = 3,
  TaskScheduled = 4,
  TaskCompleted = 5,
  TaskFailed = 6,
  SubOrchestrationInstanceCreated = 7,
  SubOrchestrationInstanceCompleted = 8,
  SubOrchestrationInstanceFailed = 9,
  TimerCreated = 10,
  TimerFired = 11,
  OrchestratorStarted = 12,
  OrchestratorCompleted = 13,
  EventSent = 14,
  EventRaised = 15,
  ContinueAsNew = 16,
  GenericEvent = 17,
  HistoryState = 18,
  ExecutionSuspended = 19,
  ExecutionResumed = 20,
}

/** DurableTask.Core.OrchestrationStatus, as ExecutionCompleted events carry it. */
export enum OrchestrationStatusCode {
  Running = 0,
  Completed = 1,
  ContinuedAsNew = 2,
  Failed = 3,
  Canceled = 4,
  Terminated = 5,
  Pending = 6,
  Suspended = 7,
}

/** Every event has these; the rest depends on `EventType`. Timestamps are ISO-8601 UTC strings. */
export interface HistoryEvent {
  EventType: EventType;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: string;
  /** Type-specific fields (Name, Input, Result, TaskScheduledId, TimerId, FireAt, …). */
  [field: string]: unknown;
}

export interface FailureDetailsPayload {
  ErrorType: string;
  ErrorMessage: string;
  StackTrace?: string;
  IsNonRetriable?: boolean;
}

function base(type: EventType, eventId: number, timestamp: string): HistoryEvent {
  return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: timestamp };
}

export const events = {
  orchestratorStarted: (timestamp: string): HistoryEvent => base(EventType.OrchestratorStarted, -1, timestamp),
  orchestratorCompleted: (timestamp: string): HistoryEvent => base(EventType.OrchestratorCompleted, -1, timestamp),
  executionStarted: (
    timestamp: string,
    fields: { name: string; input: string | null; instanceId: string; executionId: string; parent?: ParentInstanceInfo },
  ): HistoryEvent => ({
    ...base(EventType.ExecutionStarted, -1, timestamp),
    OrchestrationInstance: { InstanceId: fields.instanceId, ExecutionId: fields.executionId },
    ParentInstance: fields.parent
      ? {
          Name: fields.parent.name,
          OrchestrationInstance: { InstanceId: fields.parent.instanceId, ExecutionId: fields.parent.executionId },
          TaskScheduleId: fields.parent.taskScheduledId,
        }
      : null,
    Name: fields.name,
    Version: '',
    Input: fields.input,
  }),
  executionCompleted: (
    timestamp: string,
    status: OrchestrationStatusCode,
    result: string | null,
    failureDetails?: FailureDetailsPayload,
  ): HistoryEvent => ({
    ...base(EventType.ExecutionCompleted, -1, timestamp),
    OrchestrationStatus: status,
    Result: result,
    ...(failureDetails ? { FailureDetails: failureDetails } : {}),
  }),
  executionTerminated: (timestamp: string, reason: string | null): HistoryEvent => ({
    ...base(EventType.ExecutionTerminated, -1, timestamp),
    Input: reason,
  }),
  executionSuspended: (timestamp: string, reason: string | null): HistoryEvent => ({
    ...base(EventType.ExecutionSuspended, -1, timestamp),
    Reason: reason,
  }),
  executionResumed: (timestamp: string, reason: string | null): HistoryEvent => ({
    ...base(EventType.ExecutionResumed, -1, timestamp),
    Reason: reason,
  }),
  continueAsNew: (timestamp: string, input: string | null): HistoryEvent => ({
    ...base(EventType.ContinueAsNew, -1, timestamp),
    OrchestrationStatus: OrchestrationStatusCode.ContinuedAsNew,
    Result: input,
  }),
  taskScheduled: (timestamp: string, id: number, name: string, input: string | null): HistoryEvent => ({
    ...base(EventType.TaskScheduled, id, timestamp),
    Name: name,
    Version: '',
    Input: input,
  }),
  taskCompleted: (timestamp: string, taskScheduledId: number, result: string | null): HistoryEvent => ({
    ...base(EventType.TaskCompleted, -1, timestamp),
    TaskScheduledId: taskScheduledId,
    Result: result,
  }),
  taskFailed: (timestamp: string, taskScheduledId: number, reason: string, details: string | null): HistoryEvent => ({
    ...base(EventType.TaskFailed, -1, timestamp),
    TaskScheduledId: taskScheduledId,
    Reason: reason,
    Details: details,
  }),
  timerCreated: (timestamp: string, id: number, fireAt: string): HistoryEvent => ({
    ...base(EventType.TimerCreated, id, timestamp),
    FireAt: fireAt,
  }),
  timerFired: (timestamp: string, timerId: number, fireAt: string): HistoryEvent => ({
    ...base(EventType.TimerFired, -1, timestamp),
    TimerId: timerId,
    FireAt: fireAt,
  }),
  subOrchestrationCreated: (
    timestamp: string,
    id: number,
    name: string,
    instanceId: string,
    input: string | null,
  ): HistoryEvent => ({
    ...base(EventType.SubOrchestrationInstanceCreated, id, timestamp),
    Name: name,
    Version: '',
    InstanceId: instanceId,
    Input: input,
  }),
  subOrchestrationCompleted: (timestamp: string, taskScheduledId: number, result: string | null): HistoryEvent => ({
    ...base(EventType.SubOrchestrationInstanceCompleted, -1, timestamp),
    TaskScheduledId: taskScheduledId,
    Result: result,
  }),
  subOrchestrationFailed: (
    timestamp: string,
    taskScheduledId: number,
    reason: string,
    details: string | null,
  ): HistoryEvent => ({
    ...base(EventType.SubOrchestrationInstanceFailed, -1, timestamp),
    TaskScheduledId: taskScheduledId,
    Reason: reason,
    Details: details,
  }),
  eventRaised: (timestamp: string, name: string, input: string | null): HistoryEvent => ({
    ...base(EventType.EventRaised, -1, timestamp),
    Name: name,
    Input: input,
  }),
};

export interface ParentInstanceInfo {
  name: string;
  instanceId: string;
  executionId: string;
  taskScheduledId: number;
}

/** Typed reads of the type-specific fields (history comes back from storage as plain JSON). */
export function str(event: HistoryEvent, field: string): string | undefined {
  const value = event[field];
  return typeof value === 'string' ? value : undefined;
}

export function nullableStr(event: HistoryEvent, field: string): string | null {
  const value = event[field];
  return typeof value === 'string' ? value : null;
}

export function num(event: HistoryEvent, field: string): number | undefined {
  const value = event[field];
  return typeof value === 'number' ? value : undefined;
}

/** The id of the scheduling event a completion event answers, or undefined for other events. */
export function completionTarget(event: HistoryEvent): { kind: 'task' | 'timer' | 'sub'; id: number } | undefined {
  switch (event.EventType) {
    case EventType.TaskCompleted:
    case EventType.TaskFailed: {
      const id = num(event, 'TaskScheduledId');
      return id === undefined ? undefined : { kind: 'task', id };
    }
    case EventType.TimerFired: {
      const id = num(event, 'TimerId');
      return id === undefined ? undefined : { kind: 'timer', id };
    }
    case EventType.SubOrchestrationInstanceCompleted:
    case EventType.SubOrchestrationInstanceFailed: {
      const id = num(event, 'TaskScheduledId');
      return id === undefined ? undefined : { kind: 'sub', id };
    }
    default:
      return undefined;
  }
}
