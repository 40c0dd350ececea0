/**
 * Start-up failures of the devhost CLI: a non-zero exit and one message naming the file and the
 * field at fault, for a bad host.json, a bad local.settings.json, a setting a binding names that
 * is missing, and an app that throws while registering its functions.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createWorkspace, spawnDevhost, type Workspace } from '../support/devhost';

let workspace: Workspace;

beforeAll(() => {
  workspace = createWorkspace();
});

afterAll(() => {
  workspace?.remove();
});

function editJson(file: string, edit: (json: Record<string, unknown>) => void): void {
  // The fixture's host.json carries comments; drop them for this edit.
  const text = readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '');
  const json = JSON.parse(text) as Record<string, unknown>;
  edit(json);
  writeFileSync(file, JSON.stringify(json, null, 2));
}

/** Runs the CLI on `appDir` and returns its exit code and output once it has failed. */
async function failedStart(appDir: string, env: Record<string, string | undefined> = {}): Promise<{ code: number | string; output: string }> {
  const proc = spawnDevhost(workspace.cli, [appDir, '--port', '0'], env);
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, output: proc.output() };
}

describe('devhost start-up failures', () => {
  test('a bad host.json names the file and the field', async () => {
    const appDir = workspace.app();
    const hostJson = path.join(appDir, 'host.json');
    editJson(hostJson, (json) => {
      (json.extensions as { queues: Record<string, unknown> }).queues.batchSize = 64;
    });
    const { code, output } = await failedStart(appDir);
    expect(code).toBe(1);
    expect(output).toContain(`devhost: DEVHOST_INVALID_HOST_JSON: ${hostJson}: extensions.queues.batchSize:`);

    writeFileSync(hostJson, '{\n  "version": "2.0",\n  "functionTimeout": "five minutes"\n}\n');
    const timeout = await failedStart(appDir);
    expect(timeout.code).toBe(1);
    expect(timeout.output).toContain(`${hostJson}: functionTimeout:`);

    writeFileSync(hostJson, '{\n  "version": "2.0",\n  "extensions": { , }\n}\n');
    const syntax = await failedStart(appDir);
    expect(syntax.code).toBe(1);
    expect(syntax.output).toContain(`${hostJson}: not valid JSON at line 3`);
  });

  test('a bad local.settings.json names the file and the field', async () => {
    const appDir = workspace.app();
    const settings = path.join(appDir, 'local.settings.json');
    editJson(settings, (json) => {
      json.IsEncrypted = true;
    });
    const encrypted = await failedStart(appDir);
    expect(encrypted.code).toBe(1);
    expect(encrypted.output).toContain(`devhost: DEVHOST_INVALID_LOCAL_SETTINGS: ${settings}: IsEncrypted: must be false`);

    editJson(settings, (json) => {
      json.IsEncrypted = false;
      (json.Values as Record<string, unknown>).WORK_QUEUE = { name: 'not a string' };
    });
    const notString = await failedStart(appDir);
    expect(notString.code).toBe(1);
    expect(notString.output).toContain(`${settings}: Values.WORK_QUEUE: expected a string`);
  });

  test('a setting a binding names that is missing: the connection, or a %setting% expression', async () => {
    const appDir = workspace.app();
    const settings = path.join(appDir, 'local.settings.json');
    editJson(settings, (json) => {
      delete (json.Values as Record<string, unknown>).AzureWebJobsStorage;
    });
    const connection = await failedStart(appDir, { AzureWebJobsStorage: undefined });
    expect(connection.code).toBe(1);
    expect(connection.output).toMatch(
      new RegExp(`devhost: DEVHOST_MISSING_SETTING: ${settings.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: Values\\.AzureWebJobsStorage: the setting 'AzureWebJobsStorage' is not defined \\(function '\\w+' names it in bindings\\.\\w+\\.connection\\)`),
    );

    editJson(settings, (json) => {
      (json.Values as Record<string, unknown>).AzureWebJobsStorage = 'UseDevelopmentStorage=true';
      delete (json.Values as Record<string, unknown>).FAIL_QUEUE;
    });
    const expression = await failedStart(appDir, { FAIL_QUEUE: undefined });
    expect(expression.code).toBe(1);
    expect(expression.output).toContain(`${settings}: Values.FAIL_QUEUE: the setting 'FAIL_QUEUE' is not defined (function 'failing' names it in bindings.`);
  });

  test('an app that throws while registering names the entry point and the line', async () => {
    const appDir = workspace.app();
    const broken = path.join(appDir, 'dist', 'functions', 'zz-broken.js');
    writeFileSync(
      broken,
      "const { app } = require('@azure/functions');\napp.http('broken', { handler: () => ({}) });\nthrow new Error('boom while registering');\n",
    );
    const { code, output } = await failedStart(appDir);
    expect(code).toBe(1);
    expect(output).toContain(`devhost: DEVHOST_APP_LOAD_FAILED: ${broken}: the app threw while registering its functions: boom while registering (at ${broken}:3:`);
  });

  test('the CLI refuses a missing app folder and bad arguments', async () => {
    const missing = await failedStart(path.join(workspace.root, 'no-such-app'));
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('DEVHOST_INVALID_ARGUMENT: appDir:');
    const proc = spawnDevhost(workspace.cli, ['--port', 'x']);
    expect(await proc.exited).toBe(1);
    expect(proc.output()).toContain('DEVHOST_INVALID_ARGUMENT: --port: expected a port number');
  });
});
