/**
 * Starts a local Functions host for a compiled Node.js v4-model app folder and stops it.
 * Configuration is read and validated first (host.json, local.settings.json, package.json), then
 * the app is loaded through the `@azure/functions-core` shim and indexed, the HTTP listener
 * opens, appStart hooks run, extensions start, then timers and queue listeners; only then do
 * requests go through. `stop()` undoes it all in reverse: triggers stop fetching, running
 * invocations get `drainTimeoutInMs` to finish, extensions stop, appTerminate hooks run, the
 * listener closes, and the process is left as it was (environment, module cache).
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { loadApp, type LoadedApp } from './appLoader';
import { activateCoreApi, CoreRegistry, deactivateCoreApi, isCoreApiActive, nodeProcess, programmingModelOf } from './coreApi';
import { devhostErrors, errorMessage } from './errors';
import { ExtensionSet } from './extensions';
import { indexFunctions } from './functionIndex';
import type { DevhostExtension, FunctionHost } from './hostTypes';
import { allKeys, keysConfigured, parseHttpKeys } from './httpKeys';
import { buildHttpRoutes, DEFAULT_HTTP_HOST, DEFAULT_HTTP_PORT, startHttpServer, type RunningHttpServer } from './httpTrigger';
import { Invoker } from './invoker';
import { createLogger } from './logger';
import { isKnownTimeZone } from './ncrontab';
import { OutputWriter } from './outputBindings';
import { QueueListener } from './queueTrigger';
import { BlobScheduleMonitor } from './scheduleMonitor';
import {
  DEFAULT_CONNECTION,
  loadHostJson,
  loadLocalSettings,
  lookupConnection,
  lookupSetting,
  mergeSettings,
  secretsIn,
  STANDARD_DEVELOPMENT_STORAGE,
} from './settings';
import { prepareTimers, TimerListener } from './timerTrigger';

export interface DevhostOptions {
  /** The compiled app folder: package.json (`main`), host.json, optionally local.settings.json. */
  appDir: string;
  /** HTTP port; 0 picks a free one. Default: local.settings.json Host.LocalHttpPort, else 7071. */
  port?: number;
  /** Listen address (default 127.0.0.1). */
  hostname?: string;
  /** Runs trigger and binding kinds beyond HTTP, timer and queue (e.g. Durable Functions). */
  extensions?: readonly DevhostExtension[];
  /** The storage `UseDevelopmentStorage=true` stands for (default: the emulator's standard ports 10000-10002). */
  developmentStorage?: string;
  /** Where log lines go (default: standard output). */
  writeLog?: (line: string) => void;
  /** How long a dequeued queue message is leased before renewal at half-time (default 10 minutes, as the host). */
  queueMessageLeaseInMs?: number;
  /** How long `stop()` waits for running invocations (default 30 s). */
  drainTimeoutInMs?: number;
}

export interface RunningDevhost {
  host: FunctionHost;
  stop(): Promise<void>;
}

export const DEFAULT_DRAIN_TIMEOUT_IN_MS = 30_000;

/** Whether app setting `AzureWebJobs.<name>.Disabled` disables function `name` (true or 1). */
export function isDisabled(settings: Readonly<Record<string, string | undefined>>, name: string): boolean {
  const value = settings[`AzureWebJobs.${name}.Disabled`];
  return value !== undefined && /^(?:true|1)$/i.test(value.trim());
}

/** The id the host's storage artefacts (timer status) are kept under: a setting, else one per app folder. */
function hostIdFor(appDir: string, settings: Readonly<Record<string, string>>): string {
  const configured = lookupSetting(settings, 'AzureFunctionsWebHost__hostid');
  if (configured) return configured.toLowerCase();
  return `devhost-${createHash('sha256').update(appDir).digest('hex').slice(0, 24)}`;
}

/** Sets the app settings as environment variables (as Core Tools does); returns the undo. */
function applyEnvironment(values: Readonly<Record<string, string>>): () => void {
  const env = nodeProcess().env;
  const added: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (env[key] !== undefined) continue;
    env[key] = value;
    added.push(key);
  }
  return () => {
    for (const key of added) delete env[key];
  };
}

async function withTimeout(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export async function startDevhost(options: DevhostOptions): Promise<RunningDevhost> {
  const started = Date.now();
  if (isCoreApiActive()) throw devhostErrors.alreadyRunning();
  const appDir = path.resolve(options.appDir);
  try {
    if (!statSync(appDir).isDirectory()) throw new Error('not a folder');
  } catch (e) {
    throw devhostErrors.invalidArgument('appDir', `${appDir} is not an app folder (${errorMessage(e)})`);
  }
  const hostConfig = loadHostJson(appDir);
  const local = loadLocalSettings(appDir);
  const { settings, shadowed } = mergeSettings(local.values, nodeProcess().env);
  const logger = createLogger({ minLevel: hostConfig.logLevel, write: options.writeLog });
  for (const secret of secretsIn(settings)) logger.addSecret(secret);
  const keys = parseHttpKeys(settings);
  for (const key of allKeys(keys)) logger.addSecret(key);
  for (const key of shadowed) {
    logger.log('information', `Skipping '${key}' from local settings as it's already defined in current environment variables.`);
  }
  const timeZone = lookupSetting(settings, 'WEBSITE_TIME_ZONE');
  if (timeZone !== undefined && !isKnownTimeZone(timeZone)) {
    throw devhostErrors.invalidLocalSettings(local.file, 'Values.WEBSITE_TIME_ZONE', `"${timeZone}" is not an IANA time zone this Node.js knows`);
  }
  const developmentStorage = options.developmentStorage ?? STANDARD_DEVELOPMENT_STORAGE;
  const extensions = new ExtensionSet(options.extensions ?? []);

  const registry = new CoreRegistry((level, category, message) => {
    if (level !== 'none') logger.log(level, category === 'system' ? message : `[${category}] ${message}`);
  });
  activateCoreApi(registry);
  // The app itself (not only its bindings) must reach the emulator the devhost uses, which may
  // not be on the standard ports: `UseDevelopmentStorage=true` values become its connection string.
  const appEnvironment = Object.entries(local.values)
    .filter(([k]) => !shadowed.includes(k))
    .map(([k, v]): [string, string] => [k, options.developmentStorage && isDevelopmentStorage(v) ? options.developmentStorage : v]);
  const restoreEnvironment = applyEnvironment(Object.fromEntries(appEnvironment));

  // What has started, for an orderly undo (on failure at start as well as on stop).
  let loaded: LoadedApp | undefined;
  let server: RunningHttpServer | undefined;
  let invoker: Invoker | undefined;
  let appStarted = false;
  const timerListeners: TimerListener[] = [];
  const queueListeners: QueueListener[] = [];
  let stopping: Promise<void> | undefined;

  const teardown = async (drainTimeoutInMs: number): Promise<void> => {
    server?.stopAccepting();
    const listenerStops = [...timerListeners.map((l) => l.stop()), ...queueListeners.map((l) => l.stop())];
    if (invoker && invoker.inFlightCount > 0) {
      logger.log('information', `Waiting for ${invoker.inFlightCount} running invocation(s)`);
      const drained = await invoker.drain(drainTimeoutInMs);
      if (!drained) logger.log('warning', `${invoker.inFlightCount} invocation(s) still running after ${drainTimeoutInMs} ms; stopping anyway`);
    }
    await withTimeout(Promise.allSettled(listenerStops), 2_000);
    await extensions.stopAll(logger);
    if (appStarted) {
      const context = {
        get hookData() {
          return registry.appLevelOnlyHookData;
        },
        get appHookData() {
          return registry.appHookData;
        },
      };
      await registry.executeHooks('appTerminate', context).catch((e: unknown) => logger.log('error', `An appTerminate hook failed: ${errorMessage(e)}`));
    }
    await server?.close();
    deactivateCoreApi(registry);
    loaded?.unload();
    restoreEnvironment();
  };

  try {
    loaded = await loadApp(appDir, registry);
    registry.indexingLocked = true;
    const capabilities = (await programmingModelOf(registry)?.getCapabilities?.({})) ?? {};
    if (capabilities.HttpUri) {
      throw devhostErrors.unsupported('HTTP streaming (app.setup({ enableHttpStream: true }))', loaded.entryPoints[0]);
    }

    const { functions } = indexFunctions({
      registry,
      settings,
      localSettingsFile: local.file,
      developmentStorage,
      extensions: extensions.extensions,
      logger,
    });
    // `AzureWebJobs.<name>.Disabled` = true: the function's trigger is not listened to (an HTTP
    // route answers 404), as the Functions host does; it can still be run through the admin API.
    const disabled = new Set(functions.filter((fn) => isDisabled(settings, fn.name)).map((fn) => fn.name));
    const triggered = functions.filter((fn) => !disabled.has(fn.name));
    const routes = buildHttpRoutes(triggered, hostConfig.routePrefix);
    const timers = prepareTimers(triggered, timeZone);
    const monitored = timers.find((t) => t.useMonitor);
    let hostStorage: string | undefined;
    if (monitored) {
      const found = lookupConnection(settings, DEFAULT_CONNECTION, developmentStorage);
      if (found.kind !== 'connectionString') {
        throw devhostErrors.missingSetting(local.file, DEFAULT_CONNECTION, monitored.fn.name, `bindings.${monitored.fn.triggerName}.useMonitor (timer status is kept in host storage)`);
      }
      hostStorage = found.connectionString;
    }

    const outputs = new OutputWriter({
      messageEncoding: hostConfig.queues.messageEncoding,
      onMessagesAdded: (queueName, connectionString) => {
        for (const l of queueListeners) if (l.queueName === queueName && l.connectionString === connectionString) l.notify();
      },
    });
    const activeInvoker = new Invoker({
      registry,
      functions,
      logger,
      functionTimeoutInMs: hostConfig.functionTimeoutInMs,
      outputs,
      resolveExtensionInputs: (fn, provided) => extensions.resolveInputs(fn, provided),
    });
    invoker = activeInvoker;
    const invoke: FunctionHost['invoke'] = (name, request) => activeInvoker.invoke(name, request);

    const hostId = hostIdFor(appDir, settings);
    for (const timer of timers) {
      const monitor = timer.useMonitor && hostStorage ? new BlobScheduleMonitor(hostStorage, hostId, `Host.Functions.${timer.fn.name}`) : undefined;
      timerListeners.push(new TimerListener(timer, { invoke, logger, monitor }));
    }

    server = await startHttpServer({
      host: options.hostname ?? DEFAULT_HTTP_HOST,
      port: options.port ?? local.localHttpPort ?? DEFAULT_HTTP_PORT,
      routes,
      extensionRoutes: extensions.routes,
      keys,
      logger,
      invoke,
      functions,
      adminInvoke: async (fn, input) => {
        if (fn.kind === 'timer') {
          const listener = timerListeners.find((l) => l.timer.fn === fn);
          void listener?.fireNow();
          return listener !== undefined;
        }
        if (fn.kind === 'queue') {
          void invoke(fn.name, { inputData: [{ name: fn.triggerName, data: { string: input ?? '' } }], triggerMetadata: {} });
          return true;
        }
        return false;
      },
    });

    const host: FunctionHost = {
      functions,
      settings,
      hostJson: hostConfig.raw,
      baseUrl: server.baseUrl,
      logger,
      invoke,
      connectionString(settingName: string): string {
        const found = lookupConnection(settings, settingName, developmentStorage);
        if (found.kind === 'connectionString') return found.connectionString;
        throw devhostErrors.missingConnection(
          local.file,
          found.settingName,
          found.kind === 'identity' ? 'is an identity-based connection, which the devhost does not support' : undefined,
        );
      },
    };

    const appStartContext = {
      get hookData() {
        return registry.appLevelOnlyHookData;
      },
      get appHookData() {
        return registry.appHookData;
      },
      functionAppDirectory: appDir,
    };
    await registry.executeHooks('appStart', appStartContext);
    appStarted = true;

    await extensions.startAll(host);
    for (const l of timerListeners) await l.start();
    for (const fn of triggered.filter((f) => f.kind === 'queue')) {
      const listener = new QueueListener({ fn, queues: hostConfig.queues, invoke, logger, messageLeaseInMs: options.queueMessageLeaseInMs });
      queueListeners.push(listener);
      listener.start();
    }
    server.open();

    for (const route of routes) {
      const methods = route.methods ? [...route.methods].join(',') : 'ALL';
      logger.log('information', `Function '${route.fn.name}': [${methods}] ${server.baseUrl}/${route.route.template}`, { functionName: route.fn.name });
    }
    for (const name of disabled) logger.log('information', `Function '${name}' is disabled (AzureWebJobs.${name}.Disabled)`, { functionName: name });
    for (const fn of triggered.filter((f) => f.kind !== 'http')) {
      const what = fn.kind === 'queue' ? `queueTrigger on '${String(fn.trigger.queueName)}'` : String(fn.trigger.type);
      logger.log('information', `Function '${fn.name}': ${what}`, { functionName: fn.name });
    }
    if (keysConfigured(keys)) logger.log('information', 'HTTP authLevel is enforced (function keys are configured)');
    logger.log('information', `Host started in ${Date.now() - started} ms with ${functions.length} function(s); listening on ${server.baseUrl}`);

    return {
      host,
      stop: () => {
        stopping ??= (async () => {
          logger.log('information', 'Stopping host');
          await teardown(options.drainTimeoutInMs ?? DEFAULT_DRAIN_TIMEOUT_IN_MS);
          logger.log('information', 'Host stopped');
        })();
        return stopping;
      },
    };
  } catch (e) {
    await teardown(0).catch(() => undefined);
    throw e;
  }
}

function isDevelopmentStorage(value: string): boolean {
  return /^\s*UseDevelopmentStorage\s*=\s*true\s*;?\s*$/i.test(value);
}
