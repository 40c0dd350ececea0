/**
 * The Durable Functions extension running in the real devhost against Azurite, driven over HTTP
 * only, as a client would: the fixture app's HTTP starter (df.getClient + createCheckStatusResponse),
 * the status URLs it returns, the management API, raise event / terminate / purge, and a host
 * killed with SIGKILL mid-fan-out that resumes after a restart without re-running completed activities.
 */
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startDevhost, type RunningDevhost } from '../../src/devhost/devhost';
import { createDurableExtension } from '../../src/devhost/durable/extension';
import { EventType } from '../../src/devhost/durable/historyEvents';
import { TableStore } from '../../src/devhost/durable/tableStore';
import { createWorkspace, startDevhostProcess, testStorage, type Workspace } from '../support/devhost';

interface Status {
  name: string;
  instanceId: string;
  runtimeStatus: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: string;
  lastUpdatedTime: string;
  historyEvents?: Record<string, unknown>[];
}

interface CheckStatus {
  id: string;
  statusQueryGetUri: string;
  sendEventPostUri: string;
  terminatePostUri: string;
  purgeHistoryDeleteUri: string;
}

let workspace: Workspace;
let appDir: string;
let devhost: RunningDevhost;
let base: string;
let hubName: string;
const logLines: string[] = [];

function setHub(dir: string, hubName: string): void {
  const file = path.join(dir, 'host.json');
  const json = JSON.parse(readFileSync(file, 'utf8')) as { extensions: { durableTask: { hubName: string } } };
  json.extensions.durableTask.hubName = hubName;
  writeFileSync(file, JSON.stringify(json, null, 2));
}

async function waitForStatus(
  statusUrl: string,
  done: (s: Status) => boolean = (s) => ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus),
  timeoutMs = 30_000,
): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(statusUrl);
    if (res.status === 200 || res.status === 202) {
      const status = (await res.json()) as Status;
      if (done(status)) return status;
    }
    if (Date.now() > deadline) throw new Error(`no final status from ${statusUrl} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function startWithStarter(name: string, input?: unknown, instanceId?: string): Promise<CheckStatus> {
  const res = await fetch(`${base}/api/orchestrators/${name}${instanceId ? `/${instanceId}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: input === undefined ? '' : JSON.stringify(input),
  });
  expect(res.status).toBe(202);
  const body = (await res.json()) as CheckStatus;
  expect(res.headers.get('location')).toBe(body.statusQueryGetUri);
  return body;
}

beforeAll(async () => {
  workspace = createWorkspace();
  appDir = workspace.app('durableApp');
  hubName = `DurIt${Date.now().toString(36)}`;
  setHub(appDir, hubName);
  devhost = await startDevhost({
    appDir,
    port: 0,
    extensions: [createDurableExtension()],
    developmentStorage: testStorage(),
    writeLog: (line) => logLines.push(line),
  });
  base = devhost.host.baseUrl;
});

afterAll(async () => {
  await devhost?.stop();
  workspace?.remove();
});

test('an HTTP starter starts an orchestration and its status URL reports the result', async () => {
  const check = await startWithStarter('HelloSequence');
  expect(check.statusQueryGetUri).toBe(
    `${base}/runtime/webhooks/durabletask/instances/${check.id}?taskHub=${hubName}&connection=Storage`,
  );
  const status = await waitForStatus(check.statusQueryGetUri);
  expect(status).toMatchObject({ name: 'HelloSequence', runtimeStatus: 'Completed', output: ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!'] });
  expect(status.createdTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  const withHistory = await (await fetch(`${check.statusQueryGetUri}&showHistory=true&showHistoryOutput=true`)).json() as Status;
  expect(withHistory.historyEvents?.map((e) => e.EventType)).toEqual([
    'ExecutionStarted',
    'TaskCompleted',
    'TaskCompleted',
    'TaskCompleted',
    'ExecutionCompleted',
  ]);
  expect(withHistory.historyEvents?.[1]).toMatchObject({ FunctionName: 'SayHello', Result: 'Hello Tokyo!' });

  // df.getClient().getStatus through another HTTP function of the app
  const viaClient = (await (await fetch(`${base}/api/status/${check.id}`)).json()) as Status;
  expect(viaClient).toMatchObject({ instanceId: check.id, runtimeStatus: 'Completed', output: ['Hello Tokyo!', 'Hello Seattle!', 'Hello London!'] });
});

test('fans out 200 activities with Task.all', async () => {
  const check = await startWithStarter('FanOut', 200, 'fanout-200');
  const status = await waitForStatus(check.statusQueryGetUri);
  expect(status.runtimeStatus).toBe('Completed');
  let expected = 0;
  for (let i = 0; i < 200; i++) expected += i * i;
  expect(status.output).toBe(expected);
});

test('retries an activity, fires a durable timer and runs a sub-orchestration', async () => {
  const [retried, sleeper, parent] = await Promise.all([
    startWithStarter('Retried', undefined, 'retried-1'),
    startWithStarter('Sleeper', undefined, 'sleeper-1'),
    startWithStarter('Parent', undefined, 'parent-1'),
  ]);
  expect((await waitForStatus(retried.statusQueryGetUri)).output).toEqual({ key: 'retried-1', attempts: 3 });
  expect((await waitForStatus(sleeper.statusQueryGetUri)).output as number).toBeGreaterThanOrEqual(1000);
  expect((await waitForStatus(parent.statusQueryGetUri)).output).toEqual({ instanceId: 'parent-1-child', parent: 'parent-1', square: 144 });
  const child = (await (await fetch(`${base}/runtime/webhooks/durabletask/instances/parent-1-child`)).json()) as Status;
  expect(child).toMatchObject({ name: 'Child', runtimeStatus: 'Completed', input: 12 });
});

test('custom status, an external event through sendEventPostUri, and a 409 for a second start', async () => {
  const check = await startWithStarter('Approval', undefined, 'approval-1');
  const waiting = await waitForStatus(check.statusQueryGetUri, (s) => s.customStatus !== null);
  expect(waiting).toMatchObject({ runtimeStatus: 'Running', customStatus: { state: 'waiting for approval' } });

  const again = await fetch(`${base}/runtime/webhooks/durabletask/orchestrators/Approval/approval-1`, { method: 'POST' });
  expect(again.status).toBe(409);
  const starterAgain = await fetch(`${base}/api/orchestrators/Approval/approval-1`, { method: 'POST' });
  expect(starterAgain.status).toBe(500); // the app's starter: startNew rejects

  const raised = await fetch(check.sendEventPostUri.replace('{eventName}', 'Approval'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ approved: true, by: 'ops' }),
  });
  expect(raised.status).toBe(202);
  const done = await waitForStatus(check.statusQueryGetUri);
  expect(done).toMatchObject({ runtimeStatus: 'Completed', output: { approved: true, by: 'ops' }, customStatus: { state: 'approved' } });
  const late = await fetch(check.sendEventPostUri.replace('{eventName}', 'Approval'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
  });
  expect(late.status).toBe(410);
});

test('raiseEvent through df.getClient, terminate and purge', async () => {
  const a = await startWithStarter('Approval', undefined, 'approval-2');
  const b = await startWithStarter('Approval', undefined, 'approval-3');
  await waitForStatus(a.statusQueryGetUri, (s) => s.runtimeStatus === 'Running');
  const raised = await fetch(`${base}/api/raise/approval-2/Approval`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ approved: false, by: 'client' }),
  });
  expect(raised.status).toBe(202);
  expect((await waitForStatus(a.statusQueryGetUri)).output).toEqual({ approved: false, by: 'client' });

  const terminated = await fetch(b.terminatePostUri.replace('{text}', encodeURIComponent('not needed')), { method: 'POST' });
  expect(terminated.status).toBe(202);
  const status = await waitForStatus(b.statusQueryGetUri);
  expect(status).toMatchObject({ runtimeStatus: 'Terminated', output: 'not needed' });

  const purged = (await (await fetch(`${base}/api/purge/approval-3`, { method: 'DELETE' })).json()) as { instancesDeleted: number };
  expect(purged.instancesDeleted).toBe(1);
  expect((await fetch(b.statusQueryGetUri)).status).toBe(404);
  const purgeAgain = await fetch(a.purgeHistoryDeleteUri, { method: 'DELETE' });
  expect(purgeAgain.status).toBe(200);
  expect((await fetch(a.purgeHistoryDeleteUri, { method: 'DELETE' })).status).toBe(404);
});

test('continueAsNew and the list API', async () => {
  const check = await startWithStarter('Countdown', 3, 'countdown-1');
  const status = await waitForStatus(check.statusQueryGetUri);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 'liftoff', input: 0 });
  const list = (await (await fetch(`${base}/runtime/webhooks/durabletask/instances?runtimeStatus=Completed&instanceIdPrefix=countdown`)).json()) as Status[];
  expect(list.map((s) => s.instanceId)).toEqual(['countdown-1']);
});

test('a non-deterministic orchestrator fails its instance with the non-determinism error', async () => {
  const check = await startWithStarter('NonDeterministic', undefined, 'nondeterministic-1');
  const status = await waitForStatus(check.statusQueryGetUri);
  expect(status.runtimeStatus).toBe('Failed');
  expect(status.output).toMatch(
    /^Non-Deterministic workflow detected: A previous execution of this orchestration scheduled an activity task with sequence number 0 named 'SayHello', but the current orchestration replay instead scheduled an activity task named 'Square'/,
  );
});

// Its speed is measured by `npm run bench` (no timed assertions in tests); here only the outcome.
test('fans out 1,000 no-op activities with Task.all', async () => {
  const check = await startWithStarter('NoopFanOut', 1000, 'fanout-1000');
  const status = await waitForStatus(check.statusQueryGetUri, undefined, 120_000);
  expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 1000 });
});

describe('a host killed with SIGKILL mid-fan-out', () => {
  test('resumes every instance after a restart and never re-runs a completed activity', async () => {
    // The devhost in a child process, with this extension (the CLI's extension list is the host's business).
    const runner = path.join(workspace.root, 'durable-runner.js');
    writeFileSync(
      runner,
      [
        "const { startDevhost } = require('./devhost/devhost');",
        "const { createDurableExtension } = require('./devhost/durable/extension');",
        'startDevhost({ appDir: process.argv[2], port: 0, extensions: [createDurableExtension()],',
        '  developmentStorage: process.env.DEVHOST_DEVELOPMENT_STORAGE })',
        "  .then((running) => process.on('SIGTERM', () => running.stop().then(() => process.exit(0))))",
        '  .catch((e) => { console.error(e); process.exit(1); });',
      ].join('\n'),
    );
    const killApp = workspace.app('durableApp');
    const killHub = `Kill${Date.now().toString(36)}`;
    setHub(killApp, killHub);
    const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'durable-kill-')), 'activities.log');
    const env = { ACTIVITY_LOG: logFile, SQUARE_DELAY_MS: '100' };
    const n = 60;

    const first = await startDevhostProcess(runner, killApp, env);
    let persisted = new Set<string>();
    try {
      const res = await fetch(`${first.baseUrl}/runtime/webhooks/durabletask/orchestrators/FanOut/kill-1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(n),
      });
      expect(res.status).toBe(202);
      const deadline = Date.now() + 20_000;
      const ran = (): string[] => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => l) : []);
      while (ran().length < 15 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      expect(ran().length).toBeLessThan(n);

      // What the dead host had durably recorded as completed.
      const stored = await new TableStore({ connectionString: testStorage(), hubName: killHub }).loadInstance('kill-1');
      const scheduled = new Map<number, string>();
      for (const e of stored?.history ?? []) {
        if (e.EventType === EventType.TaskScheduled) scheduled.set(e.EventId, `Square:${String(e.Input)}`);
      }
      for (const e of [...(stored?.history ?? []), ...(stored?.inbox ?? []).map((m) => m.event)]) {
        if (e.EventType === EventType.TaskCompleted) persisted.add(scheduled.get(e.TaskScheduledId as number) ?? '?');
      }
      expect(persisted.size).toBeGreaterThan(0);
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) first.child.kill('SIGKILL');
    }

    const second = await startDevhostProcess(runner, killApp, env);
    try {
      const status = await waitForStatus(`${second.baseUrl}/runtime/webhooks/durabletask/instances/kill-1`, undefined, 60_000);
      let expected = 0;
      for (let i = 0; i < n; i++) expected += i * i;
      expect(status).toMatchObject({ runtimeStatus: 'Completed', output: expected });
    } finally {
      await second.stop();
    }
    const runs = new Map<string, number>();
    for (const line of readFileSync(logFile, 'utf8').split('\n').filter((l) => l)) runs.set(line, (runs.get(line) ?? 0) + 1);
    for (let i = 0; i < n; i++) expect(runs.get(`Square:${i}`) ?? 0).toBeGreaterThanOrEqual(1);
    persisted = new Set([...persisted].filter((k) => k !== '?'));
    for (const key of persisted) expect([key, runs.get(key)]).toEqual([key, 1]);
  });
});
