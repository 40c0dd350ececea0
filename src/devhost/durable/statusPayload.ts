/**
 * The management API's instance status JSON (StatusResponsePayload of the Durable extension's
 * HttpApiHandler) and the `historyEvents` array it shows with `showHistory=true`, shaped like
 * DurableClient.GetDurableOrchestrationStatusAsync does: event types by name, scheduling
 * events folded into their completions (FunctionName, ScheduledTime, Input), orchestrator
 * start/complete markers and sequence ids left out, results only with `showHistoryOutput`. Pure.
 */
import { EventType, HistoryEvent, OrchestrationStatusCode } from './historyEvents';
import type { InstanceRecord } from './instanceModel';
import { parseJsonLenient } from './workerProtocol';

export interface StatusResponsePayload {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  customStatus: unknown;
  output: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
}

/** DateTime.ToString("s") + "Z": seconds precision, UTC. */
export function formatStatusTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19)}Z`;
}

export function statusPayload(
  record: InstanceRecord,
  options: { showInput: boolean; history?: readonly HistoryEvent[]; showHistoryOutput?: boolean },
): StatusResponsePayload {
  const payload: StatusResponsePayload = {
    name: record.name,
    instanceId: record.instanceId,
    runtimeStatus: record.runtimeStatus,
    input: options.showInput ? parseJsonLenient(record.input) : null,
    customStatus: parseJsonLenient(record.customStatus),
    output: parseJsonLenient(record.output),
    createdTime: formatStatusTime(record.createdTime),
    lastUpdatedTime: formatStatusTime(record.lastUpdatedTime),
  };
  if (options.history) {
    payload.historyEvents = formatHistory(options.history, options.showInput, options.showHistoryOutput ?? false);
  }
  return payload;
}

export function formatHistory(history: readonly HistoryEvent[], showInput: boolean, showHistoryOutput: boolean): Record<string, unknown>[] {
  const items: (Record<string, unknown> | undefined)[] = history.map((e) => ({ ...e }));
  const scheduled = new Map<string, { index: number; name: unknown; timestamp: unknown; input: unknown }>();
  const drop = new Set<number>();
  items.forEach((item, i) => {
    if (!item) return;
    const type = item.EventType as EventType;
    item.EventType = EventType[type] ?? type;
    switch (type) {
      case EventType.TaskScheduled:
      case EventType.SubOrchestrationInstanceCreated:
        scheduled.set(`${type}_${String(item.EventId)}`, { index: i, name: item.Name, timestamp: item.Timestamp, input: item.Input });
        delete item.Version;
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceCompleted:
      case EventType.SubOrchestrationInstanceFailed: {
        const scheduledType =
          type === EventType.TaskCompleted || type === EventType.TaskFailed ? EventType.TaskScheduled : EventType.SubOrchestrationInstanceCreated;
        const s = scheduled.get(`${scheduledType}_${String(item.TaskScheduledId)}`);
        if (s) {
          item.ScheduledTime = s.timestamp;
          item.FunctionName = s.name;
          if (showInput) item.Input = s.input;
          drop.add(s.index);
        }
        delete item.TaskScheduledId;
        const hasResult = type === EventType.TaskCompleted || type === EventType.SubOrchestrationInstanceCompleted;
        if (hasResult) {
          if (showHistoryOutput) item.Result = parseJsonLenient(item.Result as string | null);
          else delete item.Result;
        }
        break;
      }
      case EventType.ExecutionStarted:
        item.FunctionName = item.Name;
        delete item.Name;
        delete item.OrchestrationInstance;
        delete item.ParentInstance;
        delete item.Version;
        delete item.Tags;
        break;
      case EventType.ExecutionCompleted:
        item.OrchestrationStatus = OrchestrationStatusCode[item.OrchestrationStatus as number] ?? item.OrchestrationStatus;
        if (showHistoryOutput) item.Result = parseJsonLenient(item.Result as string | null);
        else delete item.Result;
        break;
      case EventType.TimerFired:
        delete item.TimerId;
        break;
      case EventType.OrchestratorStarted:
      case EventType.OrchestratorCompleted:
        drop.add(i);
        break;
      default:
        break;
    }
    if (!showInput) delete item.Input;
    delete item.EventId;
    delete item.IsPlayed;
  });
  return items.filter((item, i): item is Record<string, unknown> => item !== undefined && !drop.has(i));
}
