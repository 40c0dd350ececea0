/**
 * The devhost's internal contract. The host core (coreApi, app loading, settings, HTTP, timer
 * and queue triggers) implements `FunctionHost`; extensions such as the Durable Functions
 * engine (src/devhost/durable/) plug in through `DevhostExtension`. Generic: nothing here knows
 * of deltavault. RPC shapes follow the `@azure/functions-core` declarations that the Azure
 * Functions Node.js worker ships (Azure/azure-functions-nodejs-library, types-core/index.d.ts).
 */

/** The subset of the worker's RpcTypedData the devhost produces and consumes. */
export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  http?: RpcHttpData | null;
  int?: number | null;
  double?: number | null;
}

export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  body?: RpcTypedData | null;
  params?: Record<string, string> | null;
  statusCode?: string | null;
  query?: Record<string, string> | null;
  enableContentNegotiation?: boolean | null;
  rawBody?: RpcTypedData | null;
  cookies?: unknown[] | null;
  nullableHeaders?: Record<string, { value?: string | null }> | null;
  nullableParams?: Record<string, { value?: string | null }> | null;
  nullableQuery?: Record<string, { value?: string | null }> | null;
  identities?: unknown[] | null;
}

export interface RpcBindingInfo {
  type?: string | null;
  direction?: 'in' | 'out' | 'inout' | null;
  dataType?: 'undefined' | 'string' | 'binary' | 'stream' | null;
  /** Every other binding option (route, methods, authLevel, schedule, queueName, connection, …). */
  [option: string]: unknown;
}

/** A function as the app registered it through `@azure/functions-core`'s `registerFunction`. */
export interface RegisteredFunction {
  readonly name: string;
  readonly functionId: string;
  readonly bindings: Readonly<Record<string, RpcBindingInfo>>;
  /** Name and info of the one trigger binding. */
  readonly triggerName: string;
  readonly trigger: RpcBindingInfo;
  readonly retryOptions?: unknown;
}

export interface InvocationRequest {
  /** Trigger and input binding values, by binding name. */
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata?: Record<string, RpcTypedData>;
  retryContext?: { retryCount: number; maxRetryCount: number };
  /** Optional id (the host makes one otherwise). */
  invocationId?: string;
}

export interface InvocationResult {
  invocationId: string;
  /** The function's return value as the programming model converted it. */
  returnValue?: RpcTypedData | null;
  outputData: { name: string; data: RpcTypedData }[];
  /** Set when the function threw (or the programming model reported a failure). */
  error?: Error;
}

export type LogLevel = 'trace' | 'debug' | 'information' | 'warning' | 'error' | 'critical';

/** One line per event: function name and invocation id when there is one. */
export interface HostLogger {
  log(level: LogLevel, message: string, fields?: { functionName?: string; invocationId?: string }): void;
}

/** What the host offers its triggers and extensions. */
export interface FunctionHost {
  readonly functions: readonly RegisteredFunction[];
  /** `Values` of local.settings.json merged over the process environment. */
  readonly settings: Readonly<Record<string, string>>;
  /** The parsed, validated host.json. */
  readonly hostJson: Readonly<Record<string, unknown>>;
  /** Base URL of the HTTP listener, e.g. http://127.0.0.1:7071 (no trailing slash). */
  readonly baseUrl: string;
  readonly logger: HostLogger;
  /** Invokes a function through the registered programming model, hooks included. Never throws for a function error: see `error`. */
  invoke(functionName: string, request: InvocationRequest): Promise<InvocationResult>;
  /** Resolves an app-setting name (a binding's `connection`) the way the Functions host does. */
  connectionString(settingName: string): string;
}

/** A route the host's HTTP server serves besides the app's HTTP triggers (e.g. the Durable management API). */
export interface ExtensionRoute {
  method: string;
  /** Path pattern with `{param}` segments, matched before the app's routes, e.g. /runtime/webhooks/durabletask/instances/{instanceId}. */
  path: string;
  handle(request: { params: Record<string, string>; query: URLSearchParams; headers: Record<string, string>; body: Buffer }): Promise<{
    status: number;
    headers?: Record<string, string>;
    body?: unknown;
  }>;
}

/** A trigger or binding kind the host core does not provide itself. */
export interface DevhostExtension {
  readonly name: string;
  /** Trigger binding types this extension runs (e.g. orchestrationTrigger, activityTrigger). */
  readonly triggerTypes: readonly string[];
  /** Input binding types it fills for any invocation (e.g. durableClient). */
  readonly inputTypes: readonly string[];
  readonly routes?: readonly ExtensionRoute[];
  start(host: FunctionHost): Promise<void>;
  /** The value of an input binding of one of `inputTypes` for an invocation of `fn`. */
  resolveInput?(binding: RpcBindingInfo, fn: RegisteredFunction): Promise<RpcTypedData>;
  stop(): Promise<void>;
}
