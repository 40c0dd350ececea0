/**
 * `df.getClient()` against the management API: the REAL durable-functions DurableClient (its
 * axios calls are routed in memory to the extension's route handlers, matched with the host's
 * own route-template matcher), the durableClient binding JSON the extension resolves, and the
 * status payloads, on top of the real engine with the in-memory store.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.mock factories run before imports
jest.mock('@azure/functions-core', () => require('./durableHarness').fakeCoreModule(), { virtual: true });

import * as path from 'node:path';
import * as df from 'durable-functions';
import type { DurableClient, OrchestrationContext } from 'durable-functions';
import type { HttpRequest, InvocationContext } from '@azure/functions';
import { createDurableExtension, type DurableExtension } from '../../src/devhost/durable/extension';
import { MemoryStore } from '../../src/devhost/durable/store';
import type { ExtensionRoute } from '../../src/devhost/hostTypes';
import { matchRoute, parseRouteTemplate } from '../../src/devhost/routeTemplate';
import { TestHost } from './durableHarness';

// ---- app ----

df.app.activity('Hello', { handler: (name: string) => `Hello ${name}!` });

df.app.orchestration('Greet', function* (context: OrchestrationContext) {
  const names = context.df.getInput() as string[];
  const out: string[] = [];
  for (const n of names) out.push((yield context.df.callActivity('Hello', n)) as string);
  context.df.setCustomStatus({ greeted: out.length });
  return out;
});

df.app.orchestration('Gate', function* (context: OrchestrationContext) {
  const v = yield context.df.waitForExternalEvent('Open');
  return v;
});

/** The function under test: an HTTP starter that uses df.getClient through its durableClient input. */
let onRequest: (client: DurableClient, request: HttpRequest, context: InvocationContext) => Promise<unknown> = async () => undefined;
df.app.client.http('Starter', {
  route: 'start/{name}',
  handler: async (request, client, context) => {
    const value = await onRequest(client, request, context);
    return { jsonBody: value };
  },
});

// ---- in-memory HTTP between the client and the routes ----

interface AdapterConfig {
  url?: string;
  method?: string;
  data?: unknown;
  headers?: { toJSON?: () => Record<string, unknown> } & Record<string, unknown>;
}

function installAdapter(routes: readonly ExtensionRoute[]): string[] {
  const calls: string[] = [];
  const axiosPath = require.resolve('axios', { paths: [path.dirname(require.resolve('durable-functions/package.json'))] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const axios = require(axiosPath) as { defaults: { adapter: unknown } };
  const compiled = routes.map((r) => ({ ...r, template: parseRouteTemplate(r.path) }));
  axios.defaults.adapter = async (config: AdapterConfig) => {
    const url = new URL(config.url ?? '');
    const method = (config.method ?? 'get').toUpperCase();
    calls.push(`${method} ${url.pathname}${url.search}`);
    const rawHeaders = typeof config.headers?.toJSON === 'function' ? config.headers.toJSON() : (config.headers ?? {});
    const headers: Record<string, string> = { host: url.host };
    for (const [k, v] of Object.entries(rawHeaders)) if (v !== undefined && v !== null) headers[k.toLowerCase()] = String(v);
    for (const r of compiled) {
      if (r.method !== method) continue;
      const params = matchRoute(r.template, url.pathname);
      if (!params) continue;
      const body = typeof config.data === 'string' ? Buffer.from(config.data) : Buffer.alloc(0);
      const res = await r.handle({ params, query: url.searchParams, headers, body });
      const text = res.body === undefined ? '' : Buffer.isBuffer(res.body) ? res.body.toString('utf8') : JSON.stringify(res.body);
      return { data: text, status: res.status, statusText: String(res.status), headers: res.headers ?? {}, config, request: {} };
    }
    return { data: '', status: 404, statusText: 'Not Found', headers: {}, config, request: {} };
  };
  return calls;
}

// ---- tests ----

let host: TestHost;
let extension: DurableExtension;
let calls: string[];

async function callStarter(
  handler: (client: DurableClient, request: HttpRequest, context: InvocationContext) => Promise<unknown>,
): Promise<unknown> {
  onRequest = handler;
  const fn = host.functions.find((f) => f.name === 'Starter');
  if (!fn) throw new Error('Starter not registered');
  const [clientName, clientBinding] = Object.entries(fn.bindings).find(([, b]) => b.type === 'durableClient') ?? [];
  if (!clientName || !clientBinding || !extension.resolveInput) throw new Error('no durableClient binding');
  const result = await host.invoke('Starter', {
    inputData: [
      {
        name: fn.triggerName,
        data: {
          http: {
            method: 'POST',
            url: 'http://127.0.0.1:7999/api/start/Greet',
            headers: { 'content-type': 'application/json', host: '127.0.0.1:7999' },
            params: { name: 'Greet' },
            query: {},
            body: { string: '[]' },
          },
        },
      },
      { name: clientName, data: await extension.resolveInput(clientBinding, fn) },
    ],
  });
  if (result.error) throw result.error;
  const http = (result.returnValue as { http?: { body?: { string?: string; bytes?: Uint8Array } } }).http;
  const body = http?.body?.string ?? (http?.body?.bytes ? Buffer.from(http.body.bytes).toString('utf8') : '');
  return body ? (JSON.parse(body) as unknown) : undefined;
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

beforeAll(async () => {
  host = new TestHost({ extensions: { durableTask: { hubName: 'UnitHub', maxConcurrentActivityFunctions: 4 } } });
  extension = createDurableExtension({ store: new MemoryStore() });
  calls = installAdapter(extension.routes ?? []);
  await extension.start(host);
});

afterAll(async () => {
  await extension.stop();
});

test('the durableClient binding carries the task hub, the rpc base URL and the management URL templates', async () => {
  const fn = host.functions.find((f) => f.name === 'Starter');
  const binding = Object.values(fn?.bindings ?? {}).find((b) => b.type === 'durableClient');
  const data = await extension.resolveInput?.(binding ?? {}, fn as never);
  const json = JSON.parse(data?.json ?? '{}') as Record<string, unknown>;
  expect(json).toMatchObject({
    taskHubName: 'UnitHub',
    rpcBaseUrl: 'http://127.0.0.1:7999/runtime/webhooks/durabletask/',
    baseUrl: 'http://127.0.0.1:7999/runtime/webhooks/durabletask',
    requiredQueryStringParameters: '',
    creationUrls: {
      createNewInstancePostUri: 'http://127.0.0.1:7999/runtime/webhooks/durabletask/orchestrators/{functionName}[/{instanceId}]?',
    },
    managementUrls: {
      id: 'INSTANCEID',
      statusQueryGetUri: 'http://127.0.0.1:7999/runtime/webhooks/durabletask/instances/INSTANCEID?taskHub=UnitHub&connection=Storage',
      sendEventPostUri:
        'http://127.0.0.1:7999/runtime/webhooks/durabletask/instances/INSTANCEID/raiseEvent/{eventName}?taskHub=UnitHub&connection=Storage',
      terminatePostUri:
        'http://127.0.0.1:7999/runtime/webhooks/durabletask/instances/INSTANCEID/terminate?reason={text}&taskHub=UnitHub&connection=Storage',
    },
  });
});

test('startNew, createCheckStatusResponse and getStatus with history through df.getClient', async () => {
  const response = (await callStarter(async (client, request) => {
    const id = await client.startNew('Greet', { input: ['Tokyo', 'Seattle'], instanceId: 'greet-1' });
    const check = client.createCheckStatusResponse(request, id);
    return { id, status: check.status, location: check.headers.get('location'), body: await check.json() };
  })) as { id: string; status: number; location: string; body: Record<string, string> };
  expect(response.id).toBe('greet-1');
  expect(response.status).toBe(202);
  expect(response.body.statusQueryGetUri).toBe(
    'http://127.0.0.1:7999/runtime/webhooks/durabletask/instances/greet-1?taskHub=UnitHub&connection=Storage',
  );
  expect(response.location).toBe(response.body.statusQueryGetUri);
  expect(calls).toContain('POST /runtime/webhooks/durabletask/orchestrators/Greet/greet-1');

  await waitUntil(async () => (await extension.engine?.getStatus('greet-1'))?.record.runtimeStatus === 'Completed');
  const status = (await callStarter(async (client) =>
    client.getStatus('greet-1', { showHistory: true, showHistoryOutput: true, showInput: true }),
  )) as Record<string, unknown>;
  expect(status).toMatchObject({
    name: 'Greet',
    instanceId: 'greet-1',
    runtimeStatus: 'Completed',
    input: ['Tokyo', 'Seattle'],
    output: ['Hello Tokyo!', 'Hello Seattle!'],
    customStatus: { greeted: 2 },
  });
  // durable-functions reads `history` while the extension answers `historyEvents`
  // (Azure/azure-functions-durable-js#620); the raw API carries it as Azure does.
  expect(status.history).toBeUndefined();
  const route = (extension.routes ?? []).find((r) => r.method === 'GET' && r.path.endsWith('instances/{instanceId?}'));
  const raw = await route?.handle({
    params: { instanceId: 'greet-1' },
    query: new URLSearchParams('showHistory=true&showHistoryOutput=true'),
    headers: {},
    body: Buffer.alloc(0),
  });
  expect(raw?.status).toBe(200);
  const history = (JSON.parse(String(raw?.body)) as { historyEvents: Record<string, unknown>[] }).historyEvents;
  expect(history.map((e) => e.EventType)).toEqual(['ExecutionStarted', 'TaskCompleted', 'TaskCompleted', 'ExecutionCompleted']);
  expect(history[0]).toMatchObject({ FunctionName: 'Greet', Input: '["Tokyo","Seattle"]' });
  expect(history[1]).toMatchObject({ FunctionName: 'Hello', Result: 'Hello Tokyo!', Input: '"Tokyo"' });
  expect(history[1]).not.toHaveProperty('EventId');
  expect(history[1]).toHaveProperty('ScheduledTime');
  expect(history[3]).toMatchObject({ OrchestrationStatus: 'Completed', Result: ['Hello Tokyo!', 'Hello Seattle!'] });
});

test('a second start of a running instance id is refused with 409', async () => {
  await callStarter(async (client) => client.startNew('Gate', { instanceId: 'gate-1' }));
  await expect(callStarter(async (client) => client.startNew('Gate', { instanceId: 'gate-1' }))).rejects.toThrow(/409/);
});

test('raiseEvent, getStatusBy, terminate and purge through df.getClient', async () => {
  await callStarter(async (client) => client.startNew('Gate', { instanceId: 'gate-2' }));
  await callStarter(async (client) => client.startNew('Gate', { instanceId: 'gate-3' }));
  await callStarter(async (client) => client.raiseEvent('gate-2', 'Open', { ok: true }));
  await waitUntil(async () => (await extension.engine?.getStatus('gate-2'))?.record.runtimeStatus === 'Completed');
  const completed = (await callStarter(async (client) => client.getStatus('gate-2'))) as Record<string, unknown>;
  expect(completed.output).toEqual({ ok: true });

  await callStarter(async (client) => client.terminate('gate-3', 'no longer needed'));
  await waitUntil(async () => (await extension.engine?.getStatus('gate-3'))?.record.runtimeStatus === 'Terminated');
  const terminated = (await callStarter(async (client) => client.getStatus('gate-3'))) as Record<string, unknown>;
  expect(terminated.output).toBe('no longer needed');

  const list = (await callStarter(async (client) =>
    client.getStatusBy({ runtimeStatus: [df.OrchestrationRuntimeStatus.Terminated, df.OrchestrationRuntimeStatus.Completed] }),
  )) as { instanceId: string }[];
  expect(list.map((s) => s.instanceId)).toEqual(expect.arrayContaining(['gate-2', 'gate-3', 'greet-1']));

  const purged = (await callStarter(async (client) => client.purgeInstanceHistory('gate-3'))) as { instancesDeleted: number };
  expect(purged.instancesDeleted).toBe(1);
  await expect(callStarter(async (client) => client.getStatus('gate-3'))).rejects.toThrow(/404/);
  const purgedAgain = (await callStarter(async (client) => client.purgeInstanceHistory('gate-3'))) as { instancesDeleted: number };
  expect(purgedAgain.instancesDeleted).toBe(0);
  await expect(callStarter(async (client) => client.raiseEvent('gate-3', 'Open', 1))).rejects.toThrow("No instance with ID 'gate-3' found.");
});

test('paged listing follows the continuation token', async () => {
  for (let i = 0; i < 5; i++) await callStarter(async (client) => client.startNew('Gate', { instanceId: `page-${i}` }));
  const route = (extension.routes ?? []).find((r) => r.method === 'GET' && r.path.endsWith('instances/{instanceId?}'));
  const first = await route?.handle({
    params: {},
    query: new URLSearchParams('top=2&instanceIdPrefix=page-'),
    headers: {},
    body: Buffer.alloc(0),
  });
  expect(JSON.parse(String(first?.body))).toHaveLength(2);
  expect(first?.headers?.['x-ms-continuation-token']).toBeTruthy();
  const all = (await callStarter(async (client) => client.getStatusAll())) as { instanceId: string }[];
  expect(all.filter((s) => s.instanceId.startsWith('page-'))).toHaveLength(5);
});

test('entity APIs report that entities are not supported', async () => {
  await expect(
    callStarter(async (client) => client.signalEntity(new df.EntityId('counter', 'k'), 'add', 1)),
  ).rejects.toThrow(/501.*not supported/);
});
