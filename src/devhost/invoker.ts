/**
 * `FunctionHost.invoke`: runs one invocation through the app's registered programming model
 * exactly as the Node.js worker does (src/eventHandlers/InvocationHandler.ts):
 * getInvocationModel(coreCtx) → getArguments → preInvocation hooks → invokeFunction →
 * postInvocation hooks → getResponse. Around it, what the host does: fill extension input
 * bindings (e.g. durableClient), enforce host.json `functionTimeout`, write queue output
 * bindings after a success, and log `Executing …` / `Executed …` with the invocation id.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { programmingModelOf, type CoreInvocationContext, type CoreRegistry, type RpcLogCategory, type RpcLogLevel } from './coreApi';
import { devhostErrors, errorMessage } from './errors';
import type { IndexedFunction } from './functionIndex';
import type { HostLogger, InvocationRequest, InvocationResult, RpcTypedData } from './hostTypes';
import type { OutputWriter } from './outputBindings';
import { formatTimeSpan } from './timeSpan';

export interface InvokerOptions {
  registry: CoreRegistry;
  functions: readonly IndexedFunction[];
  logger: HostLogger;
  /** undefined: no limit. */
  functionTimeoutInMs: number | undefined;
  outputs: OutputWriter;
  /** Values of extension input bindings (durableClient, …) the request did not bring. */
  resolveExtensionInputs(fn: IndexedFunction, provided: ReadonlySet<string>): Promise<{ name: string; data: RpcTypedData }[]>;
}

/** Mirrors the worker's ReadOnlyError for hook-context properties. */
/** Hook-context fields the worker makes read-only (`hookData`, `appHookData`, `invocationContext`, …). */
function readOnlyFields(values: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    Object.defineProperty(fields, name, { enumerable: true, get: () => value, set: () => readOnly(name) });
  }
  return fields;
}

function readOnly(name: string): never {
  throw Object.assign(new TypeError(`Cannot assign to read only property '${name}'`), { isAzureFunctionsSystemError: true });
}

function ensureError(e: unknown): Error {
  if (e instanceof Error) return e;
  return new Error(e === undefined || e === null ? 'Unknown error' : errorMessage(e));
}

function traceParent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

export class Invoker {
  readonly #byName = new Map<string, IndexedFunction>();
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: InvokerOptions) {
    for (const fn of options.functions) this.#byName.set(fn.name.toLowerCase(), fn);
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** Waits for running invocations, at most `timeoutInMs`; resolves true when none is left. */
  async drain(timeoutInMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutInMs;
    while (this.#inFlight.size > 0 && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inFlight]),
        new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
    }
    return this.#inFlight.size === 0;
  }

  async invoke(functionName: string, request: InvocationRequest): Promise<InvocationResult> {
    const fn = this.#byName.get(functionName.toLowerCase());
    if (!fn) throw devhostErrors.functionNotFound(functionName);
    const invocationId = request.invocationId ?? randomUUID();
    const { logger } = this.options;
    const fields = { functionName: fn.name, invocationId };
    const started = Date.now();
    logger.log('information', `Executing '${fn.name}' (Reason='${fn.trigger.type} fired', Id=${invocationId})`, fields);

    const state = { abandoned: false };
    const work = this.#run(fn, invocationId, request, state);
    const timeoutInMs = this.options.functionTimeoutInMs;
    let timer: NodeJS.Timeout | undefined;
    const settled =
      timeoutInMs === undefined
        ? work
        : Promise.race([
            work,
            new Promise<InvocationResult>((resolve) => {
              timer = setTimeout(() => {
                // The host would recycle the worker here; the devhost cannot stop the handler, but drops
                // its outputs and no longer waits for it.
                state.abandoned = true;
                resolve({ invocationId, outputData: [], error: devhostErrors.functionTimeout(fn.name, invocationId, formatTimeSpan(timeoutInMs)) });
              }, timeoutInMs);
            }),
          ]);
    this.#inFlight.add(settled);
    let result: InvocationResult;
    try {
      result = await settled;
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(settled);
    }

    const duration = Date.now() - started;
    if (result.error) {
      logger.log('error', `Executed '${fn.name}' (Failed, Id=${invocationId}, Duration=${duration}ms): ${errorMessage(result.error)}`, fields);
    } else {
      logger.log('information', `Executed '${fn.name}' (Succeeded, Id=${invocationId}, Duration=${duration}ms)`, fields);
    }
    return result;
  }

  async #run(
    fn: IndexedFunction,
    invocationId: string,
    request: InvocationRequest,
    state: { abandoned: boolean },
  ): Promise<InvocationResult> {
    const { registry, logger } = this.options;
    const fields = { functionName: fn.name, invocationId };
    let invocationContext: unknown;
    const hookData: Record<string, unknown> = {};
    const log = (level: RpcLogLevel, category: RpcLogCategory, message: string): void => {
      const logContext = Object.assign(
        readOnlyFields({ category, hookData, appHookData: registry.appHookData, invocationContext }),
        { level, message },
      );
      for (const hook of registry.hooks.log) {
        try {
          void hook(logContext);
        } catch (e) {
          logger.log('warning', `A log hook threw: ${errorMessage(e)}`, fields);
        }
      }
      const finalLevel = category === 'user' ? logContext.level : level;
      const finalMessage = category === 'user' ? logContext.message : message;
      if (finalLevel !== 'none') logger.log(finalLevel, finalMessage, fields);
    };

    try {
      const provided = new Set(request.inputData.map((i) => i.name));
      const extensionInputs = await this.options.resolveExtensionInputs(fn, provided);
      const coreRequest = {
        invocationId,
        functionId: fn.functionId,
        inputData: [...request.inputData, ...extensionInputs],
        triggerMetadata: request.triggerMetadata ?? {},
        traceContext: { traceParent: traceParent(), traceState: '', attributes: {} },
        retryContext: request.retryContext ?? null,
      };
      const reg = fn.registration;
      const coreMetadata = {
        name: reg.metadata.name,
        functionId: fn.functionId,
        // The worker sees the bindings as the app registered them, before the host resolved settings.
        bindings: reg.metadata.bindings,
        rawBindings: Object.entries(reg.metadata.bindings).map(([name, b]) => JSON.stringify({ ...b, name })),
        retryOptions: reg.metadata.retryOptions ?? null,
        scriptFile: reg.entryPoint ?? 'unknown',
      };
      const coreCtx: CoreInvocationContext = { invocationId, request: coreRequest, metadata: coreMetadata, state: undefined, log };

      const programmingModel = programmingModelOf(registry);
      if (!programmingModel) throw new Error('No programming model was set: the app did not load @azure/functions');
      const model = await programmingModel.getInvocationModel(coreCtx);
      const args = await model.getArguments();
      invocationContext = args.context;
      let { inputs } = args;
      let callback = reg.callback;

      const preInvocContext = Object.assign(readOnlyFields({ hookData, appHookData: registry.appHookData, invocationContext }), {
        functionCallback: callback,
        inputs,
      });
      coreCtx.state = 'preInvocationHooks';
      try {
        await registry.executeHooks('preInvocation', preInvocContext);
      } finally {
        coreCtx.state = undefined;
      }
      inputs = preInvocContext.inputs;
      callback = preInvocContext.functionCallback;

      const postInvocContext = Object.assign(readOnlyFields({ hookData, appHookData: registry.appHookData, invocationContext }), {
        inputs,
        result: null as unknown,
        error: null as unknown,
      });
      coreCtx.state = 'invocation';
      try {
        postInvocContext.result = await model.invokeFunction(invocationContext, inputs, callback);
      } catch (e) {
        postInvocContext.error = e;
      } finally {
        coreCtx.state = undefined;
      }
      coreCtx.state = 'postInvocationHooks';
      try {
        await registry.executeHooks('postInvocation', postInvocContext);
      } finally {
        coreCtx.state = undefined;
      }
      if (postInvocContext.error !== null && postInvocContext.error !== undefined) throw postInvocContext.error;

      const response = await model.getResponse(invocationContext, postInvocContext.result);
      const result: InvocationResult = {
        invocationId,
        returnValue: (response.returnValue ?? undefined) as RpcTypedData | undefined,
        outputData: (response.outputData ?? [])
          .filter((o) => typeof o.name === 'string')
          .map((o) => ({ name: o.name as string, data: (o.data ?? {}) as RpcTypedData })),
      };
      if (state.abandoned) {
        logger.log('warning', `'${fn.name}' finished after its timeout; its outputs are dropped`, fields);
        return result;
      }
      await this.options.outputs.write(fn, result);
      return result;
    } catch (e) {
      return { invocationId, outputData: [], error: ensureError(e) };
    }
  }
}
