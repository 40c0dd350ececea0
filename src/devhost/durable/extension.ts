/**
 * The Durable Functions extension of the devhost: runs orchestrationTrigger and activityTrigger
 * functions (entityTrigger functions are accepted and reported as unsupported), fills
 * durableClient input bindings, and serves the management API. State lives in Azurite (the
 * connection named by durableTask.storageProvider, default AzureWebJobsStorage) unless a store is
 * passed in.
 */
import type { DevhostExtension, ExtensionRoute, FunctionHost, RegisteredFunction, RpcBindingInfo, RpcTypedData } from '../hostTypes';
import { clientInputData } from './clientBinding';
import { readDurableConfig, type DurableConfig } from './config';
import { DurableEngine } from './engine';
import { managementRoutes } from './managementApi';
import type { DurableStore } from './store';
import { TableStore } from './tableStore';

export interface DurableExtensionOptions {
  /** A store to use instead of Azurite tables (tests); a function receives the host and the config. */
  store?: DurableStore | ((host: FunctionHost, config: DurableConfig) => DurableStore);
  /** Carry unconsumed external events into the next generation on continueAsNew (default false). */
  preserveUnprocessedEvents?: boolean;
  /** Override the timer split (defaults: 6 days / 3 days, as Azure Storage). */
  maxShortTimerMs?: number;
  longTimerIntervalMs?: number;
  /** How long `stop()` waits for running orchestrator and activity work (default 10 s). */
  stopTimeoutMs?: number;
}

export interface DurableExtension extends DevhostExtension {
  /** The running engine (undefined before start and after stop). */
  readonly engine: DurableEngine | undefined;
  readonly config: DurableConfig | undefined;
}

export const DURABLE_TRIGGER_TYPES = ['orchestrationTrigger', 'activityTrigger', 'entityTrigger'] as const;
export const DURABLE_INPUT_TYPES = ['durableClient', 'orchestrationClient'] as const;

export function createDurableExtension(options: DurableExtensionOptions = {}): DurableExtension {
  let engine: DurableEngine | undefined;
  let store: DurableStore | undefined;
  let config: DurableConfig | undefined;
  let host: FunctionHost | undefined;
  let setHostname: string | undefined;

  const routes: ExtensionRoute[] = managementRoutes({
    engine: () => engine,
    taskHubName: () => config?.hubName ?? '',
    baseUrl: () => host?.baseUrl ?? '',
  });

  return {
    name: 'durable-functions',
    triggerTypes: DURABLE_TRIGGER_TYPES,
    inputTypes: DURABLE_INPUT_TYPES,
    routes,
    get engine() {
      return engine;
    },
    get config() {
      return config;
    },

    async start(h: FunctionHost): Promise<void> {
      host = h;
      config = readDurableConfig(h.hostJson, h.settings);
      const cfg = config;
      const inputTypes = new Set<string>(DURABLE_INPUT_TYPES.map((t) => t.toLowerCase()));
      const usesDurable = h.functions.some(
        (f) =>
          (DURABLE_TRIGGER_TYPES as readonly string[]).includes(String(f.trigger.type)) ||
          Object.values(f.bindings).some((b) => inputTypes.has(String(b.type ?? '').toLowerCase())),
      );
      if (!usesDurable && options.store === undefined) return; // nothing durable in this app: no task hub to open
      for (const fn of h.functions.filter((f) => f.trigger.type === 'entityTrigger')) {
        h.logger.log(
          'warning',
          `Function '${fn.name}' is a Durable entity; entities are not supported by the local Functions host and it will not run.`,
          { functionName: fn.name },
        );
      }
      store =
        typeof options.store === 'function'
          ? options.store(h, cfg)
          : (options.store ?? new TableStore({ connectionString: h.connectionString(cfg.connectionName), hubName: cfg.hubName }));
      const e = new DurableEngine({
        host: h,
        store,
        maxConcurrentActivityFunctions: cfg.maxConcurrentActivityFunctions,
        maxConcurrentOrchestratorFunctions: cfg.maxConcurrentOrchestratorFunctions,
        preserveUnprocessedEvents: options.preserveUnprocessedEvents,
        maxShortTimerMs: options.maxShortTimerMs,
        longTimerIntervalMs: options.longTimerIntervalMs,
      });
      try {
        await e.start();
      } catch (err) {
        throw new Error(
          `Durable Functions: cannot open task hub '${cfg.hubName}' in the storage named by '${cfg.connectionName}': ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      engine = e;
      // durable-functions rewrites the client's management URLs to http://localhost:7071 unless WEBSITE_HOSTNAME is set.
      if (process.env.WEBSITE_HOSTNAME === undefined) {
        process.env.WEBSITE_HOSTNAME = new URL(h.baseUrl).host;
        setHostname = process.env.WEBSITE_HOSTNAME;
      }
      h.logger.log('information', `Durable Functions: task hub '${cfg.hubName}', management API at ${h.baseUrl}/runtime/webhooks/durabletask`);
    },

    async resolveInput(binding: RpcBindingInfo, fn: RegisteredFunction): Promise<RpcTypedData> {
      if (!host || !config) throw new Error(`The Durable Functions extension is not running (durableClient input of '${fn.name}').`);
      const taskHub = typeof binding.taskHub === 'string' ? binding.taskHub : undefined;
      if (taskHub && taskHub !== config.hubName) {
        host.logger.log('warning', `durableClient taskHub '${taskHub}' is not served locally; using '${config.hubName}'.`, { functionName: fn.name });
      }
      return { json: JSON.stringify(clientInputData(host.baseUrl, config.hubName)) };
    },

    async stop(): Promise<void> {
      const e = engine;
      engine = undefined;
      await e?.stop(options.stopTimeoutMs);
      await store?.close();
      store = undefined;
      if (setHostname !== undefined && process.env.WEBSITE_HOSTNAME === setHostname) delete process.env.WEBSITE_HOSTNAME;
      setHostname = undefined;
    },
  };
}
