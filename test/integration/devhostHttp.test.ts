/**
 * The devhost's HTTP triggers, driven over HTTP as a client would: route templates and
 * parameters, query, body, status, headers and cookies through @azure/functions' HttpRequest and
 * HttpResponse; authLevel with keys; hooks; an HTTP function's queue output.
 */
import { createWorkspace, receiveOne, startDevhostProcess, testQueue, uniqueQueueName, type DevhostProcess, type Workspace } from '../support/devhost';

let workspace: Workspace;
let devhost: DevhostProcess & { baseUrl: string };
const enqueueQueue = uniqueQueueName('http-enqueue');

beforeAll(async () => {
  workspace = createWorkspace();
  const appDir = workspace.app();
  // Environment variables win over local.settings.json, as with Core Tools: every queue is this test's own.
  devhost = await startDevhostProcess(workspace.cli, appDir, {
    ENQUEUE_QUEUE: enqueueQueue,
    WORK_QUEUE: uniqueQueueName('http-work'),
    DONE_QUEUE: uniqueQueueName('http-done'),
    FAIL_QUEUE: uniqueQueueName('http-fail'),
    SLOW_QUEUE: uniqueQueueName('http-slow'),
    TIMER_LOG_QUEUE: uniqueQueueName('http-timer'),
    TIMER_SCHEDULE: '0 0 0 1 1 *',
  });
});

afterAll(async () => {
  await devhost?.stop();
  workspace?.remove();
});

describe('devhost HTTP triggers', () => {
  test('route parameters, query, body, status, headers and cookies reach the handler and come back', async () => {
    const res = await fetch(`${devhost.baseUrl}/api/items/books/42?sort=asc&page=2`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-sample': 'header value' },
      body: 'the body',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-echo')).toBe('yes');
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('set-cookie')).toMatch(/^session=abc123; Path=\/; HttpOnly/);
    const invocationId = res.headers.get('x-invocation-id');
    expect(invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({
      functionName: 'echo',
      method: 'POST',
      url: `${devhost.baseUrl}/api/items/books/42?sort=asc&page=2`,
      params: { category: 'books', id: '42' },
      query: { sort: 'asc', page: '2' },
      header: 'header value',
      body: 'the body',
    });
    // One log line per event, with the function name and the invocation id.
    // (The child's stdout may arrive a moment after the HTTP response: wait for the line.)
    await devhost.waitForOutput(new RegExp(`\\[echo ${invocationId}\\] `));
  });

  test('an optional parameter may be absent; constraints and methods select routes', async () => {
    const ok = await fetch(`${devhost.baseUrl}/api/items/books`);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { params: unknown }).params).toEqual({ category: 'books' });
    expect((await fetch(`${devhost.baseUrl}/api/items/books/not-a-number`)).status).toBe(404);
    expect((await fetch(`${devhost.baseUrl}/api/items/b00ks`)).status).toBe(404);
    expect((await fetch(`${devhost.baseUrl}/api/items/books/1`, { method: 'DELETE' })).status).toBe(404);
  });

  test('the default route is the function name under the route prefix', async () => {
    const res = await fetch(`${devhost.baseUrl}/api/hello?name=devhost`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello devhost');
    expect((await fetch(`${devhost.baseUrl}/hello`)).status).toBe(404);
  });

  test('function keys: 401 without a key, 200 with it as code or x-functions-key', async () => {
    const url = `${devhost.baseUrl}/api/secured`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(`${url}?code=wrong`)).status).toBe(401);
    const withCode = await fetch(`${url}?code=sample-secured-key`);
    expect(withCode.status).toBe(200);
    expect(await withCode.text()).toBe('secured ok');
    expect((await fetch(url, { headers: { 'x-functions-key': 'sample-host-key' } })).status).toBe(200);
    expect((await fetch(url, { headers: { 'x-functions-key': 'sample-master-key' } })).status).toBe(200);
    // A key for another function does not open this one; admin routes want the master key.
    expect((await fetch(`${devhost.baseUrl}/api/admin-only?code=sample-host-key`)).status).toBe(401);
    expect((await fetch(`${devhost.baseUrl}/api/admin-only?code=sample-master-key`)).status).toBe(200);
    // Anonymous routes stay open.
    expect((await fetch(`${devhost.baseUrl}/api/hello`)).status).toBe(200);
    // Keys never reach the log.
    expect(devhost.output()).not.toContain('sample-secured-key');
    expect(devhost.output()).not.toContain('sample-master-key');
  });

  test('a throwing handler is a 500; hooks run around an invocation', async () => {
    expect((await fetch(`${devhost.baseUrl}/api/fail`)).status).toBe(500);
    await devhost.waitForOutput(/\[fail [0-9a-f-]{36}\] Executed 'fail' \(Failed.*this handler always fails/);
    const hooked = await fetch(`${devhost.baseUrl}/api/hooked`);
    expect(hooked.status).toBe(200);
    expect(hooked.headers.get('x-pre-hook')).toBe('true');
    expect(hooked.headers.get('x-app-start')).toBe('started');
  });

  test('an HTTP function writes its queue output after it succeeds', async () => {
    const res = await fetch(`${devhost.baseUrl}/api/enqueue`, { method: 'POST', body: JSON.stringify({ job: 7 }) });
    expect(res.status).toBe(202);
    const message = await receiveOne(testQueue(enqueueQueue));
    expect(JSON.parse(message.text)).toEqual({ job: 7 });
  });
});
