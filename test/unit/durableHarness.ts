/**
 * Test support for the Durable engine: a minimal FunctionHost that runs functions registered with
 * the REAL `@azure/functions` programming model and `durable-functions` (df.app.orchestration,
 * df.app.activity) through a fake `@azure/functions-core` module. Test files mock the core
 * module with:
 *
 *   jest.mock('@azure/functions-core', () => require('./durableHarness').fakeCoreModule(), { virtual: true });
 *
 * Only the worker's core module is faked; the programming model, the durable-functions replay
 * engine and the devhost's durable engine are the real ones.
 */
import { randomUUID } from 'node:crypto';
import type { FunctionHost, InvocationRequest, InvocationResult, LogLevel, RegisteredFunction, RpcBindingInfo } from '../../src/devhost/hostTypes';
import { DurableEngine, type EngineOptions } from '../../src/devhost/durable/engine';
import type { InstanceRecord } from '../../src/devhost/durable/instanceModel';
import type { DurableStore } from '../../src/devhost/durable/store';

interface CoreRegistration {
  metadata: { name: string; bindings: Record<string, RpcBindingInfo> };
  callback: (...args: unknown[]) => unknown;
}

interface ProgrammingModelLike {
  getInvocationModel(ctx: unknown): {
    getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
    invokeFunction(context: unknown, inputs: unknown[], cb: (...args: unknown[]) => unknown): Promise<unknown>;
    getResponse(context: unknown, result: unknown): Promise<{ returnValue?: unknown; outputData?: unknown[] }>;
  };
}

interface CoreState {
  registrations: CoreRegistration[];
  model?: ProgrammingModelLike;
}

function coreState(): CoreState {
  const g = globalThis as { __durableHarnessCore?: CoreState };
  g.__durableHarnessCore ??= { registrations: [] };
  return g.__durableHarnessCore;
}

/** The stand-in for `@azure/functions-core` (enough for @azure/functions to register and run functions). */
export function fakeCoreModule(): Record<string, unknown> {
  const state = coreState();
  return {
    version: '3.10.1-test',
    hostVersion: '4.0.0-test',
    registerFunction(metadata: CoreRegistration['metadata'], callback: CoreRegistration['callback']) {
      state.registrations.push({ metadata, callback });
      return { dispose() {} };
    },
    setProgrammingModel(model: ProgrammingModelLike) {
      state.model = model;
    },
    getProgrammingModel() {
      return state.model;
    },
    registerHook() {
      return { dispose() {} };
    },
    log() {},
    Disposable: class {
      dispose(): void {}
    },
  };
}

export interface LogLine {
  level: LogLevel;
  message: string;
}

export class TestHost implements FunctionHost {
  readonly settings: Readonly<Record<string, string>> = {};
  readonly baseUrl = 'http://127.0.0.1:7999';
  readonly logs: LogLine[] = [];
  readonly logger = {
    log: (level: LogLevel, message: string): void => {
      this.logs.push({ level, message });
    },
  };
  invocations = 0;
  /** Set to make every invocation fail as if the worker were gone (a "killed" host). */
  dead = false;

  constructor(
    readonly hostJson: Readonly<Record<string, unknown>> = {},
    private readonly connection?: string,
  ) {}

  get functions(): RegisteredFunction[] {
    return coreState().registrations.map(({ metadata }) => {
      const [triggerName, trigger] = Object.entries(metadata.bindings).find(([, b]) =>
        String(b.type ?? '').toLowerCase().endsWith('trigger'),
      ) as [string, RpcBindingInfo];
      return { name: metadata.name, functionId: metadata.name, bindings: metadata.bindings, triggerName, trigger };
    });
  }

  connectionString(settingName: string): string {
    if (!this.connection) throw new Error(`no connection '${settingName}' in the test host`);
    return this.connection;
  }

  async invoke(functionName: string, request: InvocationRequest): Promise<InvocationResult> {
    const invocationId = request.invocationId ?? randomUUID();
    if (this.dead) return new Promise<InvocationResult>(() => undefined); // never answers
    const state = coreState();
    const registration = state.registrations.find((r) => r.metadata.name.toLowerCase() === functionName.toLowerCase());
    if (!registration || !state.model) return { invocationId, outputData: [], error: new Error(`no function '${functionName}'`) };
    this.invocations++;
    const model = state.model.getInvocationModel({
      invocationId,
      request: { inputData: request.inputData, triggerMetadata: request.triggerMetadata ?? {}, retryContext: request.retryContext },
      metadata: { name: registration.metadata.name, bindings: registration.metadata.bindings },
      state: 'invocation',
      log: () => undefined,
    });
    try {
      const { context, inputs } = await model.getArguments();
      const result = await model.invokeFunction(context, inputs, registration.callback);
      const response = await model.getResponse(context, result);
      return {
        invocationId,
        returnValue: (response.returnValue ?? null) as InvocationResult['returnValue'],
        outputData: [],
      };
    } catch (e) {
      return { invocationId, outputData: [], error: e instanceof Error ? e : new Error(String(e)) };
    }
  }
}

export function newEngine(host: TestHost, store: DurableStore, options: Partial<EngineOptions> = {}): DurableEngine {
  return new DurableEngine({ host, store, maxConcurrentActivityFunctions: 8, maxConcurrentOrchestratorFunctions: 4, ...options });
}

const TERMINAL = new Set(['Completed', 'Failed', 'Terminated', 'Canceled']);

/** Polls until the instance reaches a final status (or `predicate` holds). */
export async function waitFor(
  engine: DurableEngine,
  instanceId: string,
  predicate: (r: InstanceRecord) => boolean = (r) => TERMINAL.has(r.runtimeStatus),
  timeoutMs = 20_000,
): Promise<InstanceRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await engine.getStatus(instanceId);
    if (status && predicate(status.record)) return status.record;
    if (Date.now() > deadline) {
      throw new Error(`instance ${instanceId} did not get there in ${timeoutMs} ms (status: ${status?.record.runtimeStatus ?? 'none'})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function startAndWait(engine: DurableEngine, name: string, input: unknown, instanceId?: string): Promise<InstanceRecord> {
  const started = await engine.startNew(name, instanceId, input === undefined ? null : JSON.stringify(input));
  if (started.kind !== 'started') throw new Error(`start failed: ${started.kind} ${started.message}`);
  return waitFor(engine, started.instanceId);
}

export function outputOf(record: InstanceRecord): unknown {
  return record.output === null ? null : (JSON.parse(record.output) as unknown);
}
