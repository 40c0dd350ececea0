/**
 * The `@azure/functions-core` module the real Node.js worker injects, provided by the devhost.
 * `@azure/functions` registers every function, hook and its programming model through it; the
 * registry below receives them. `require('@azure/functions-core')` is answered by intercepting
 * Node's `Module._load` (and `_resolveFilename`, so `require.resolve` works too) — once per
 * process; the module object is stable and delegates to the registry of the running devhost,
 * because `@azure/functions` caches the module it got. Semantics follow the worker
 * (Azure/azure-functions-nodejs-worker src/setupCoreModule.ts, src/coreApi/, src/hooks/).
 */
import Module from 'node:module';
import type { LogLevel } from './hostTypes';
import { devhostErrors } from './errors';

export const CORE_MODULE_NAME = '@azure/functions-core';
/** What `version` and `hostVersion` report: a worker and host of the v4 generation, marked as the devhost. */
export const DEVHOST_WORKER_VERSION = '3.10.1-devhost';
export const DEVHOST_HOST_VERSION = '4.0.0-devhost';

// ---- the subset of the @azure/functions-core declarations the devhost uses (types-core/index.d.ts)

export type RpcLogLevel = LogLevel | 'none';
export type RpcLogCategory = 'user' | 'system' | 'customMetric';
export type FunctionCallback = (...args: unknown[]) => unknown;
export type HookCallback = (context: Record<string, unknown>) => unknown;
export type HookName = 'preInvocation' | 'postInvocation' | 'appStart' | 'appTerminate' | 'log';

export interface CoreBindingInfo {
  type?: string | null;
  direction?: 'in' | 'out' | 'inout' | null;
  dataType?: string | null;
  properties?: Record<string, unknown> | null;
  [option: string]: unknown;
}

export interface CoreFunctionMetadata {
  name: string;
  functionId?: string;
  bindings: Record<string, CoreBindingInfo>;
  retryOptions?: unknown;
}

export interface CoreInvocationContext {
  invocationId: string;
  request: Record<string, unknown>;
  metadata: Record<string, unknown>;
  state?: 'preInvocationHooks' | 'postInvocationHooks' | 'invocation';
  log(level: RpcLogLevel, category: RpcLogCategory, message: string): void;
}

export interface CoreInvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<CoreInvocationResponse>;
}

export interface CoreInvocationResponse {
  invocationId?: string | null;
  outputData?: { name?: string | null; data?: unknown }[] | null;
  returnValue?: unknown;
}

export interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreContext: CoreInvocationContext): CoreInvocationModel | Promise<CoreInvocationModel>;
  getCapabilities?(capabilities: Record<string, string>): Record<string, string> | Promise<Record<string, string>>;
}

/** The worker's Disposable (based on VS Code's). */
export class Disposable {
  static from(...disposables: { dispose(): unknown }[]): Disposable {
    let remaining: { dispose(): unknown }[] | undefined = disposables;
    return new Disposable(() => {
      for (const d of remaining ?? []) if (d && typeof d.dispose === 'function') d.dispose();
      remaining = undefined;
    });
  }

  #callOnDispose?: () => unknown;

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  dispose(): unknown {
    const call = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return typeof call === 'function' ? call() : undefined;
  }
}

/** The worker's system errors carry this flag; `@azure/functions` looks for it. */
function systemError<E extends Error>(error: E): E & { isAzureFunctionsSystemError: true } {
  return Object.assign(error, { isAzureFunctionsSystemError: true as const });
}

export interface CoreRegistration {
  functionId: string;
  metadata: CoreFunctionMetadata;
  callback: FunctionCallback;
  /** The entry-point file that was loading when the function registered. */
  entryPoint?: string;
}

/** What one running app registered. */
export class CoreRegistry {
  readonly functions = new Map<string, CoreRegistration>();
  readonly hooks: Record<HookName, HookCallback[]> = {
    preInvocation: [],
    postInvocation: [],
    appStart: [],
    appTerminate: [],
    log: [],
  };
  /** Shared by every hook of every scope. */
  readonly appHookData: Record<string, unknown> = {};
  /** Shared by the app-level hooks only. */
  readonly appLevelOnlyHookData: Record<string, unknown> = {};
  programmingModel?: ProgrammingModel;
  indexingLocked = false;
  currentEntryPoint?: string;

  constructor(
    /** A log line that is not part of an invocation (coreApi.log, registration notices). */
    readonly systemLog: (level: RpcLogLevel, category: RpcLogCategory, message: string) => void,
  ) {}

  registerFunction(metadata: CoreFunctionMetadata, callback: FunctionCallback): Disposable {
    if (this.indexingLocked) throw systemError(new Error('A function can only be registered during app startup.'));
    const functionId = metadata.functionId || metadata.name;
    if (this.functions.has(functionId)) {
      throw systemError(new Error(`A function with id "${functionId}" has already been registered.`));
    }
    this.functions.set(functionId, { functionId, metadata, callback, entryPoint: this.currentEntryPoint });
    return new Disposable(() => {
      if (this.indexingLocked) throw systemError(new Error('A function can only be disposed during app startup.'));
      this.functions.delete(functionId);
    });
  }

  registerHook(hookName: string, callback: HookCallback): Disposable {
    if (!(hookName in this.hooks)) throw systemError(new RangeError(`Unrecognized hook "${hookName}"`));
    const hooks = this.hooks[hookName as HookName];
    hooks.push(callback);
    return new Disposable(() => {
      const index = hooks.indexOf(callback);
      if (index > -1) hooks.splice(index, 1);
    });
  }

  setProgrammingModel(programmingModel: ProgrammingModel): void {
    if (this.programmingModel) {
      this.systemLog(
        'information',
        'system',
        `Setting Node.js programming model to "${programmingModel.name}" version "${programmingModel.version}"`,
      );
    }
    this.programmingModel = programmingModel;
  }

  /** Runs the hooks of one kind in registration order; a throwing hook fails the step, as in the worker. */
  async executeHooks(hookName: Exclude<HookName, 'log'>, context: Record<string, unknown>): Promise<void> {
    for (const callback of [...this.hooks[hookName]]) await callback(context);
  }
}

// ---- the process-wide module and its Module._load interception

let active: CoreRegistry | undefined;
/** The first programming model set in this process: the worker's "default", kept if the app's @azure/functions stays cached. */
let defaultProgrammingModel: ProgrammingModel | undefined;

function current(): CoreRegistry {
  if (!active) throw systemError(new Error('No devhost is running in this process: @azure/functions-core is unavailable.'));
  return active;
}

/** The object `require('@azure/functions-core')` returns. */
export const coreApi = Object.freeze({
  version: DEVHOST_WORKER_VERSION,
  get hostVersion(): string {
    return DEVHOST_HOST_VERSION;
  },
  registerFunction: (metadata: CoreFunctionMetadata, callback: FunctionCallback): Disposable =>
    current().registerFunction(metadata, callback),
  registerHook: (hookName: string, callback: HookCallback): Disposable => current().registerHook(hookName, callback),
  setProgrammingModel: (programmingModel: ProgrammingModel): void => {
    defaultProgrammingModel ??= programmingModel;
    current().setProgrammingModel(programmingModel);
  },
  getProgrammingModel: (): ProgrammingModel | undefined => active?.programmingModel ?? defaultProgrammingModel,
  log: (level: RpcLogLevel, category: RpcLogCategory, message: string): void => current().systemLog(level, category, message),
  Disposable,
});

/**
 * Node's own module system. A test runner may hand out a stand-in for the `module` builtin
 * (jest's is `class Module extends require('module').Module` with its own `createRequire`); the
 * app must load through Node's real loader, as in the worker, so follow the stand-in's prototype.
 */
export function nodeModuleSystem(): typeof Module {
  const parent = Object.getPrototypeOf(Module) as (typeof Module & { _load?: unknown }) | null;
  return parent && typeof parent._load === 'function' && typeof parent.createRequire === 'function' ? parent : Module;
}

/** The process the app runs in (under a test runner's sandbox, the real one rather than its copy). */
export function nodeProcess(): NodeJS.Process {
  return nodeModuleSystem().createRequire(__filename)('node:process') as NodeJS.Process;
}

interface ModuleInternals {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, isMain: boolean, options?: unknown): string;
}

let installed = false;

function installModuleHook(): void {
  if (installed) return;
  installed = true;
  const internals = nodeModuleSystem() as unknown as ModuleInternals;
  const originalLoad = internals._load;
  const originalResolve = internals._resolveFilename;
  internals._load = function load(this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
    if (request === CORE_MODULE_NAME) return coreApi;
    return originalLoad.call(this, request, parent, isMain);
  };
  internals._resolveFilename = function resolveFilename(
    this: unknown,
    request: string,
    parent: unknown,
    isMain: boolean,
    options?: unknown,
  ): string {
    if (request === CORE_MODULE_NAME) return CORE_MODULE_NAME;
    return originalResolve.call(this, request, parent, isMain, options);
  };
}

/** Makes `registry` the one `@azure/functions-core` talks to. One running devhost per process. */
export function activateCoreApi(registry: CoreRegistry): void {
  if (active && active !== registry) throw devhostErrors.alreadyRunning();
  installModuleHook();
  active = registry;
}

/** The model invocations go through: the app's, else the first one this process saw (the worker's default). */
export function programmingModelOf(registry: CoreRegistry): ProgrammingModel | undefined {
  return registry.programmingModel ?? defaultProgrammingModel;
}

export function deactivateCoreApi(registry: CoreRegistry): void {
  if (active === registry) active = undefined;
}

export function isCoreApiActive(): boolean {
  return active !== undefined;
}
