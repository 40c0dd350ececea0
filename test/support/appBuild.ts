/**
 * deltavault itself as a Functions app folder, for the end-to-end tests: the repository's src/
 * and functions/ compiled (TypeScript → CommonJS, as `npm run build` does) into a scratch folder
 * inside the repository (node_modules/.cache, so packages resolve from the repo's node_modules),
 * with a package.json whose `main` is the compiled functions, the repository's host.json, and a
 * local.settings.json written from the test's settings. The devhost CLI is compiled with it
 * (dist/src/devhost/cli.js), so a test runs exactly what `npm run devhost -- <folder>` runs.
 *
 * Every app gets its own job-events queue (DELTAVAULT_EVENTS_QUEUE, unless the test sets it), so
 * the events consumer of one test's host never takes another test's messages (and the job
 * history table, named after the queue, is its own too). `appSettings` gives the settings every
 * test's app starts from: the test run's Azurite and the test's own function key; `cleanUpApp`
 * removes what a test's app left behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { testQueue, testStorage, transpileTree, uniqueQueueName, type DevhostProcess } from './devhost';

const REPO = path.resolve(__dirname, '..', '..');
const SCRATCH = path.join(REPO, 'node_modules', '.cache', 'deltavault-e2e');

export interface BuiltApp {
  /** The app folder (package.json, host.json, local.settings.json, dist/). */
  dir: string;
  /** The compiled devhost CLI inside it. */
  cli: string;
  /** The job-events queue the app reads (DELTAVAULT_EVENTS_QUEUE). */
  eventsQueue: string;
  /** The app's own Durable task hub (host.json), so no other test's host runs its orchestrations. */
  hubName: string;
  /** Rewrites local.settings.json `Values` (keeping the app's events queue unless `values` names one). */
  writeSettings(values: Record<string, string>): void;
  remove(): void;
}

export interface BuildAppOptions {
  /** Changes the copy of the repository's host.json (e.g. a shorter queue visibilityTimeout). */
  hostJson?: (json: Record<string, unknown>) => void;
  /**
   * Run the demo (no DELTAVAULT_CONFIG: a seeded 1 GiB demo disk backed up every minute). Off by
   * default: unless `values` names a DELTAVAULT_CONFIG, the app gets an empty protection config
   * (no policies, no disks), so no timer fires during a test that does not ask for one.
   */
  demo?: boolean;
}

/** The protection config of apps that protect nothing. */
export const EMPTY_PROTECTION_CONFIG = { policies: [], disks: [] } as const;

/** A function key of its own for one test's app (DEVHOST_FUNCTION_KEYS), random so a test can check no log shows it. */
export function randomFunctionKey(): string {
  return `e2e-${randomBytes(8).toString('hex')}`;
}

/**
 * Settings for an app on the test run's Azurite: its storage (AzureWebJobsStorage), the vault
 * account there (DELTAVAULT_VAULT) and `functionKey` as its function key, with `values` added
 * (DELTAVAULT_VAULT_CONTAINER, DELTAVAULT_CONFIG, …) or overriding.
 */
export function appSettings(functionKey: string, values: Record<string, string> = {}): Record<string, string> {
  return {
    AzureWebJobsStorage: testStorage(),
    DELTAVAULT_VAULT: 'UseDevelopmentStorage=true',
    DEVHOST_FUNCTION_KEYS: functionKey,
    ...values,
  };
}

/** Compiles the app once into a fresh folder, with `values` as its local.settings.json. */
export function buildApp(values: Record<string, string>, options: BuildAppOptions = {}): BuiltApp {
  const dir = path.join(SCRATCH, `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  transpileTree(path.join(REPO, 'src'), path.join(dir, 'dist', 'src'));
  transpileTree(path.join(REPO, 'functions'), path.join(dir, 'dist', 'functions'));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'deltavault-e2e', version: '0.0.0', private: true, main: 'dist/functions/*.js' }, null, 2),
  );
  // Every app its own task hub: an orchestration a stopped host left running must never be
  // picked up by another test's host (which would run it with that app's settings).
  const hubName = `e2e${randomBytes(6).toString('hex')}`;
  const hostJson = JSON.parse(readFileSync(path.join(REPO, 'host.json'), 'utf8')) as { extensions?: { durableTask?: Record<string, unknown> } } & Record<string, unknown>;
  hostJson.extensions = { ...hostJson.extensions, durableTask: { ...hostJson.extensions?.durableTask, hubName } };
  options.hostJson?.(hostJson);
  writeFileSync(path.join(dir, 'host.json'), JSON.stringify(hostJson, null, 2));
  const eventsQueue = values.DELTAVAULT_EVENTS_QUEUE ?? uniqueQueueName('e2e-events');
  const emptyConfig = path.join(dir, 'empty-protection-config.json');
  writeFileSync(emptyConfig, JSON.stringify(EMPTY_PROTECTION_CONFIG));
  const writeSettings = (v: Record<string, string>): void => {
    const config = options.demo || v.DELTAVAULT_CONFIG !== undefined ? {} : { DELTAVAULT_CONFIG: emptyConfig };
    writeFileSync(
      path.join(dir, 'local.settings.json'),
      JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', DELTAVAULT_EVENTS_QUEUE: eventsQueue, ...config, ...v } }, null, 2),
    );
  };
  writeSettings(values);
  return {
    dir,
    eventsQueue,
    hubName,
    cli: path.join(dir, 'dist', 'src', 'devhost', 'cli.js'),
    writeSettings,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Cleans up after a test's app, as far as its beforeAll got (any may be undefined): stops the
 * host, removes the app folder, deletes the test's vault container and the app's events queue
 * (and its poison queue).
 */
export async function cleanUpApp(app: BuiltApp | undefined, devhost: DevhostProcess | undefined, vault?: ContainerClient): Promise<void> {
  await devhost?.stop();
  app?.remove();
  await vault?.delete();
  if (app) for (const queue of [app.eventsQueue, `${app.eventsQueue}-poison`]) await testQueue(queue).deleteIfExists();
}
