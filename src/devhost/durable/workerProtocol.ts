/**
 * What the Durable extension sends to and reads from a Node worker, in RpcTypedData terms:
 * - the orchestrationTrigger value: the JSON context object of
 *   OrchestrationTriggerAttributeBindingProvider (history, input, instanceId, isReplaying,
 *   parentInstanceId, upperSchemaVersion(New), timer durations), sent as a JSON string;
 * - the activityTrigger value: the activity input as JSON text (the worker's programming model
 *   parses it back, so activities receive the value the orchestrator passed);
 * - the orchestrator's result: OrchestratorState JSON as the return value, or — when the
 *   orchestrator threw — embedded in the error message after `$OutOfProcData$:`;
 * - the activity's result: its return value, serialized as the TaskCompleted `Result`. Pure.
 */
import type { RpcTypedData } from '../hostTypes';
import { OrchestratorState, parseOrchestratorState, ProtocolError, ReplaySchema } from './actions';
import type { HistoryEvent } from './historyEvents';
import { formatTimeSpan as formatDotNetTimeSpan } from '../timeSpan';

/** The newest schema the extension advertises (upperSchemaVersionNew) and the legacy field. */
export const UPPER_SCHEMA_VERSION = ReplaySchema.V2;
export const UPPER_SCHEMA_VERSION_NEW = ReplaySchema.V3;
/** The DurableTask.AzureStorage limits (MaximumDelayTime, LongRunningTimerIntervalLength). */
export const DEFAULT_MAX_SHORT_TIMER_MS = 6 * 24 * 3600 * 1000;
export const DEFAULT_LONG_TIMER_INTERVAL_MS = 3 * 24 * 3600 * 1000;
export const DEFAULT_HTTP_ASYNC_SLEEP_MS = 30_000;

export interface OrchestrationTriggerInput {
  history: HistoryEvent[];
  input: unknown;
  instanceId: string;
  isReplaying: boolean;
  parentInstanceId: string | null;
  maxShortTimerMs: number;
  longTimerIntervalMs: number;
}

export function orchestrationTriggerData(t: OrchestrationTriggerInput): RpcTypedData {
  const context = {
    history: t.history,
    input: t.input ?? null,
    instanceId: t.instanceId,
    isReplaying: t.isReplaying,
    parentInstanceId: t.parentInstanceId,
    upperSchemaVersion: UPPER_SCHEMA_VERSION,
    upperSchemaVersionNew: UPPER_SCHEMA_VERSION_NEW,
    longRunningTimerIntervalDuration: formatDotNetTimeSpan(t.longTimerIntervalMs),
    maximumShortTimerDuration: formatDotNetTimeSpan(t.maxShortTimerMs),
    defaultHttpAsyncRequestSleepTimeMillseconds: DEFAULT_HTTP_ASYNC_SLEEP_MS,
  };
  return { string: JSON.stringify(context) };
}

/** The activity input as the worker receives it (undefined input → no data). */
export function activityTriggerData(inputJson: string | null): RpcTypedData {
  return inputJson === null ? {} : { string: inputJson };
}

/** Parses JSON text, falling back to the raw text (DurableClient.ParseToJToken). */
export function parseJsonLenient(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return null;
  const trimmed = text.trim();
  if (trimmed.length === 0) return '';
  try {
    return JSON.parse(trimmed) as unknown;
  } catch {
    return text;
  }
}

/** The value carried by an RpcTypedData, as the host would convert it to an object. */
export function fromTypedData(data: RpcTypedData | null | undefined): unknown {
  if (!data) return undefined;
  if (data.string !== undefined && data.string !== null) return data.string;
  if (data.json !== undefined && data.json !== null) return JSON.parse(data.json) as unknown;
  if (data.int !== undefined && data.int !== null) return data.int;
  if (data.double !== undefined && data.double !== null) return data.double;
  if (data.bytes !== undefined && data.bytes !== null) return Buffer.from(data.bytes).toString('base64');
  return undefined;
}

/** TaskCompleted `Result`: the activity's return value serialized (null when it returned nothing). */
export function activityResultJson(returnValue: RpcTypedData | null | undefined): string | null {
  const value = fromTypedData(returnValue);
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  return text === undefined ? null : text;
}

/** TaskFailed `Reason` and `Details` for an activity that threw (TaskActivityShim). */
export function activityFailure(activityName: string, error: Error): { reason: string; details: string } {
  return {
    reason: `Activity function '${activityName}' failed: ${error.message}`,
    details: JSON.stringify({ Message: error.message, StackTrace: error.stack ?? null }),
  };
}

const OUT_OF_PROC_DATA_LABEL = '\n\n$OutOfProcData$:';

export type OrchestratorOutcome =
  | { kind: 'state'; state: OrchestratorState; errorMessage?: string }
  | { kind: 'failed'; message: string; details: string };

/** Reads the OrchestratorState back from an orchestrator invocation (OutOfProcExceptionHelpers). */
export function readOrchestratorOutcome(returnValue: RpcTypedData | null | undefined, error: Error | undefined): OrchestratorOutcome {
  try {
    if (error) {
      const text = error.message ?? String(error);
      const at = text.indexOf(OUT_OF_PROC_DATA_LABEL);
      if (at < 0) return { kind: 'failed', message: text, details: error.stack ?? text };
      const json = JSON.parse(text.slice(at + OUT_OF_PROC_DATA_LABEL.length)) as unknown;
      return { kind: 'state', state: parseOrchestratorState(json), errorMessage: text.slice(0, at) };
    }
    const value = fromTypedData(returnValue);
    if (value === undefined || value === null) {
      throw new ProtocolError('The data returned by the out-of-process function execution was not valid json.');
    }
    const json = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
    return { kind: 'state', state: parseOrchestratorState(json) };
  } catch (e) {
    const message =
      e instanceof SyntaxError ? 'Out of proc orchestrators must return a valid JSON schema' : e instanceof Error ? e.message : String(e);
    return { kind: 'failed', message, details: message };
  }
}
