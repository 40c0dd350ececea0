/**
 * The orchestrator's answer to one episode: `OrchestratorState` {isDone, actions, output, error,
 * customStatus, schemaVersion} as durable-functions builds it (lib/src/orchestrations/
 * OrchestratorState.js, lib/src/actions/). Parsed defensively from the JSON the worker returns
 * (the action objects are serialized class instances, so only their own fields arrive). Pure.
 */

/** durable-functions ActionType (the extension's AsyncActionType). */
export enum ActionType {
  CallActivity = 0,
  CallActivityWithRetry = 1,
  CallSubOrchestrator = 2,
  CallSubOrchestratorWithRetry = 3,
  ContinueAsNew = 4,
  CreateTimer = 5,
  WaitForExternalEvent = 6,
  CallEntity = 7,
  CallHttp = 8,
  SignalEntity = 9,
  ScheduledSignalEntity = 10,
  WhenAny = 11,
  WhenAll = 12,
  LockEntities = 13,
  ReleaseEntities = 14,
}

/** The replay schema versions (durable-functions ReplaySchema): V1 = 0 … V4 = 3. */
export enum ReplaySchema {
  V1 = 0,
  V2 = 1,
  V3 = 2,
  V4 = 3,
}

/** What the worker sends; fields depend on `actionType`. */
export interface OrchestratorAction {
  actionType: ActionType;
  functionName?: string;
  /** As the library left it: strings already JSON-encoded for activities and continueAsNew, raw values otherwise. */
  input?: unknown;
  instanceId?: string;
  retryOptions?: RetryOptionsJson;
  fireAt?: string;
  isCanceled?: boolean;
  externalEventName?: string;
  compoundActions?: OrchestratorAction[];
}

export interface RetryOptionsJson {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

export interface OrchestratorState {
  isDone: boolean;
  /** V1: one array per episode; V2+: a single array (nested once for legacy reasons). */
  actions: OrchestratorAction[][];
  output?: unknown;
  error?: string;
  customStatus?: unknown;
  schemaVersion: ReplaySchema;
}

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseAction(value: unknown, path: string): OrchestratorAction {
  if (!isRecord(value)) throw new ProtocolError(`${path}: expected an action object`);
  const type = value.actionType;
  if (typeof type !== 'number' || !(type in ActionType)) {
    throw new ProtocolError(`${path}: unknown actionType ${JSON.stringify(type)}`);
  }
  const action: OrchestratorAction = { actionType: type as ActionType };
  if (typeof value.functionName === 'string') action.functionName = value.functionName;
  if ('input' in value) action.input = value.input;
  if (typeof value.instanceId === 'string') action.instanceId = value.instanceId;
  if (typeof value.fireAt === 'string') action.fireAt = value.fireAt;
  if (typeof value.isCanceled === 'boolean') action.isCanceled = value.isCanceled;
  if (typeof value.externalEventName === 'string') action.externalEventName = value.externalEventName;
  if (isRecord(value.retryOptions)) {
    const r = value.retryOptions;
    if (typeof r.firstRetryIntervalInMilliseconds !== 'number' || typeof r.maxNumberOfAttempts !== 'number') {
      throw new ProtocolError(`${path}.retryOptions: firstRetryIntervalInMilliseconds and maxNumberOfAttempts are required`);
    }
    action.retryOptions = {
      firstRetryIntervalInMilliseconds: r.firstRetryIntervalInMilliseconds,
      maxNumberOfAttempts: r.maxNumberOfAttempts,
      ...(typeof r.backoffCoefficient === 'number' ? { backoffCoefficient: r.backoffCoefficient } : {}),
      ...(typeof r.maxRetryIntervalInMilliseconds === 'number'
        ? { maxRetryIntervalInMilliseconds: r.maxRetryIntervalInMilliseconds }
        : {}),
      ...(typeof r.retryTimeoutInMilliseconds === 'number'
        ? { retryTimeoutInMilliseconds: r.retryTimeoutInMilliseconds }
        : {}),
    };
  }
  if (Array.isArray(value.compoundActions)) {
    action.compoundActions = value.compoundActions.map((a, i) => parseAction(a, `${path}.compoundActions[${i}]`));
  }
  return action;
}

/** Validates the JSON an orchestrator invocation returned. */
export function parseOrchestratorState(value: unknown): OrchestratorState {
  if (!isRecord(value)) throw new ProtocolError('Out of proc orchestrators must return a valid JSON schema');
  const rawActions = value.actions;
  if (!Array.isArray(rawActions)) {
    throw new ProtocolError('Out-of-proc orchestrator schema must have a non-null actions property.');
  }
  const actions = rawActions.map((set, i) => {
    if (!Array.isArray(set)) throw new ProtocolError(`actions[${i}]: expected an array of actions`);
    return set.map((a, j) => parseAction(a, `actions[${i}][${j}]`));
  });
  const schema = typeof value.schemaVersion === 'number' ? value.schemaVersion : ReplaySchema.V1;
  if (!(schema in ReplaySchema)) {
    throw new ProtocolError(`The OOProc schema of version "${String(schema)}" is unsupported by this durable-extension version.`);
  }
  const state: OrchestratorState = {
    isDone: value.isDone === true,
    actions,
    schemaVersion: schema as ReplaySchema,
  };
  if ('output' in value) state.output = value.output;
  if (typeof value.error === 'string' && value.error.length > 0) state.error = value.error;
  if ('customStatus' in value) state.customStatus = value.customStatus;
  return state;
}

/** Human name of an action type for messages. */
export function actionTypeName(type: ActionType): string {
  return ActionType[type] ?? String(type);
}
