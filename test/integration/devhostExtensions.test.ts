/**
 * The extension plumbing and the in-process API (`startDevhost`): an extension's trigger
 * functions are handed to it, its input bindings are resolved for any invocation, its routes
 * are served first; host.json functionTimeout is enforced; stop() leaves the process clean so a
 * second devhost can run the same app.
 */
import { nodeProcess } from '../../src/devhost/coreApi';
import { startDevhost, type RunningDevhost } from '../../src/devhost/devhost';
import { functionsOf } from '../../src/devhost/extensions';
import type { DevhostExtension, FunctionHost, RegisteredFunction, RpcBindingInfo } from '../../src/devhost/hostTypes';
import { createWorkspace, type Workspace } from '../support/devhost';

class FakeExtension implements DevhostExtension {
  readonly name = 'fake';
  readonly triggerTypes = ['fakeTrigger'];
  readonly inputTypes = ['fakeInput'];
  host?: FunctionHost;
  handed: string[] = [];
  stopped = false;
  readonly routes = [
    {
      method: 'GET',
      path: '/runtime/webhooks/fake/{id}',
      handle: async (request: { params: Record<string, string>; query: URLSearchParams }) => ({
        status: 200,
        body: { id: request.params.id, q: request.query.get('q') },
      }),
    },
  ];

  async start(host: FunctionHost): Promise<void> {
    this.host = host;
    this.handed = functionsOf(host, this).map((f) => f.name);
  }

  async resolveInput(binding: RpcBindingInfo, fn: RegisteredFunction) {
    return { json: JSON.stringify({ for: fn.name, type: binding.type, baseUrl: this.host?.baseUrl }) };
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}

/** The environment the app sees (jest gives tests a copy of the process). */
const appEnv = (): NodeJS.ProcessEnv => nodeProcess().env;

let workspace: Workspace;
let appDir: string;

beforeAll(() => {
  workspace = createWorkspace();
  appDir = workspace.app('extensionApp');
});

afterAll(() => workspace?.remove());

async function start(extension: FakeExtension, lines: string[]): Promise<RunningDevhost> {
  return startDevhost({ appDir, port: 0, extensions: [extension], writeLog: (line) => lines.push(line) });
}

describe('devhost extensions (in process)', () => {
  test('triggers are handed to the extension, inputs resolved, routes served; timeouts enforced; stop cleans up', async () => {
    const lines: string[] = [];
    const extension = new FakeExtension();
    expect(appEnv().EXTENSION_APP_SETTING).toBeUndefined();
    const devhost = await start(extension, lines);
    try {
      const { host } = devhost;
      expect(extension.host).toBe(host);
      expect(extension.handed).toEqual(['fakeTriggered']);
      expect(host.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(host.functions.map((f) => f.name).sort()).toEqual(['fakeTriggered', 'slow', 'withInput']);
      expect(host.hostJson).toMatchObject({ version: '2.0' });
      expect(appEnv().EXTENSION_APP_SETTING).toBe('from local settings');

      // The extension's trigger, invoked as the extension would: its input binding is resolved too.
      const result = await host.invoke('fakeTriggered', { inputData: [{ name: 'payload', data: { json: '{"x":1}' } }] });
      expect(result.error).toBeUndefined();
      expect(JSON.parse(result.returnValue?.json ?? 'null')).toEqual({
        got: { x: 1 },
        input: { for: 'fakeTriggered', type: 'fakeInput', baseUrl: host.baseUrl },
        setting: 'from local settings',
      });

      // Any function may carry the extension's input; the empty routePrefix puts routes at the root.
      const withInput = await fetch(`${host.baseUrl}/with-input`);
      expect(await withInput.json()).toEqual({ for: 'withInput', type: 'fakeInput', baseUrl: host.baseUrl });

      const route = await fetch(`${host.baseUrl}/runtime/webhooks/fake/abc?q=1`);
      expect(route.status).toBe(200);
      expect(route.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await route.json()).toEqual({ id: 'abc', q: '1' });

      const started = Date.now();
      expect((await fetch(`${host.baseUrl}/slow`)).status).toBe(500);
      expect(Date.now() - started).toBeLessThan(1_400);
      expect(lines.join('\n')).toMatch(/\[slow [0-9a-f-]{36}\] Executed 'slow' \(Failed.*Timeout value of 00:00:01 exceeded/);

      await expect(host.invoke('nope', { inputData: [] })).rejects.toMatchObject({ code: 'DEVHOST_FUNCTION_NOT_FOUND' });
      await expect(startDevhost({ appDir, port: 0 })).rejects.toMatchObject({ code: 'DEVHOST_ALREADY_RUNNING' });
    } finally {
      await devhost.stop();
    }
    expect(extension.stopped).toBe(true);
    expect(appEnv().EXTENSION_APP_SETTING).toBeUndefined();

    // The same app again in the same process: it registers afresh.
    const again = new FakeExtension();
    const second = await start(again, []);
    try {
      expect(again.handed).toEqual(['fakeTriggered']);
      expect((await fetch(`${second.host.baseUrl}/with-input`)).status).toBe(200);
    } finally {
      await second.stop();
    }
  });

  test('the app sees UseDevelopmentStorage=true as the emulator the devhost was pointed at', async () => {
    const emulator = process.env.DELTAVAULT_TEST_STORAGE as string;
    const devhost = await startDevhost({ appDir, port: 0, developmentStorage: emulator, writeLog: () => undefined });
    try {
      expect(appEnv().EXTENSION_APP_STORAGE).toBe(emulator);
    } finally {
      await devhost.stop();
    }
    expect(appEnv().EXTENSION_APP_STORAGE).toBeUndefined();
  });

  test('a function whose trigger no extension runs is reported and left out', async () => {
    const lines: string[] = [];
    const devhost = await startDevhost({ appDir, port: 0, writeLog: (line) => lines.push(line) });
    try {
      expect(devhost.host.functions.map((f) => f.name).sort()).toEqual(['slow']);
      expect(lines.join('\n')).toContain("The 'fakeTriggered' function is in error: The binding type(s) 'fakeTrigger' are not registered");
      expect(lines.join('\n')).toContain("The 'withInput' function is in error: The binding type(s) 'fakeInput'");
    } finally {
      await devhost.stop();
    }
  });
});
