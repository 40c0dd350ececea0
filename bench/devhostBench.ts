/**
 * The devhost's orchestration overhead: 1,000 no-op activities fanned out with Task.all through
 * the real devhost CLI (child process) on the bench's Azurite, in milliseconds per activity;
 * and the same with the host killed (SIGKILL) once in the middle and started again.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

const ACTIVITIES = 1000;
const REPO = path.resolve(__dirname, '..', '..');

interface Host {
  child: ChildProcess;
  baseUrl: string;
}

/** A runnable app folder inside the repository, so its packages resolve from node_modules. */
function prepareApp(): string {
  const dir = path.join(REPO, 'node_modules', '.cache', 'deltavault-bench', `fanout-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(path.join(__dirname, 'fanoutApp', 'app.js'), path.join(dir, 'app.js'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'devhost-bench-app', private: true, main: 'app.js' }));
  writeFileSync(
    path.join(dir, 'host.json'),
    JSON.stringify({ version: '2.0', extensions: { durableTask: { hubName: `BenchHub${process.pid}` } } }),
  );
  writeFileSync(
    path.join(dir, 'local.settings.json'),
    JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', AzureWebJobsStorage: 'UseDevelopmentStorage=true' } }),
  );
  return dir;
}

function startHost(appDir: string, storage: string): Promise<Host> {
  const cli = path.join(REPO, 'dist', 'src', 'devhost', 'cli.js');
  const child = spawn(process.execPath, [cli, appDir, '--port', '0'], {
    env: { ...process.env, DEVHOST_DEVELOPMENT_STORAGE: storage },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (d: Buffer): void => {
      output += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve({ child, baseUrl: m[1]! });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => reject(new Error(`devhost exited with ${code} before listening:\n${output}`)));
  });
}

function kill(host: Host, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (host.child.exitCode !== null || host.child.signalCode !== null) return resolve();
    host.child.once('exit', () => resolve());
    host.child.kill(signal);
  });
}

async function status(baseUrl: string, instanceId: string): Promise<{ runtimeStatus?: string; output?: unknown }> {
  const res = await fetch(`${baseUrl}/runtime/webhooks/durabletask/instances/${instanceId}`);
  return res.status === 404 ? {} : ((await res.json()) as { runtimeStatus?: string; output?: unknown });
}

async function waitUntil(done: () => Promise<boolean>, timeoutInMs: number): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutInMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs one fan-out; with `restartAfterMs`, kills the host that long after the start and starts another. */
async function fanOut(appDir: string, storage: string, instanceId: string, restartAfterMs?: number): Promise<number> {
  let host = await startHost(appDir, storage);
  try {
    const started = performance.now();
    const res = await fetch(`${host.baseUrl}/api/bench/${instanceId}`, { method: 'POST', body: String(ACTIVITIES) });
    if (res.status !== 202) throw new Error(`starter answered ${res.status}: ${await res.text()}`);
    if (restartAfterMs !== undefined) {
      await new Promise((r) => setTimeout(r, restartAfterMs));
      await kill(host, 'SIGKILL');
      host = await startHost(appDir, storage);
    }
    const baseUrl = host.baseUrl;
    await waitUntil(async () => (await status(baseUrl, instanceId)).runtimeStatus === 'Completed', 300_000);
    const elapsed = performance.now() - started;
    const final = await status(baseUrl, instanceId);
    if (final.output !== ACTIVITIES) throw new Error(`fan-out returned ${JSON.stringify(final.output)}`);
    return elapsed;
  } finally {
    await kill(host, 'SIGTERM');
  }
}

export async function measureDevhost(storage: string): Promise<{ msPerActivity: number; msPerActivityWithRestart: number }> {
  const appDir = prepareApp();
  try {
    const plain = await fanOut(appDir, storage, `bench-${Date.now()}`);
    // Kill it about a third of the way through the plain run's duration.
    const restarted = await fanOut(appDir, storage, `bench-restart-${Date.now()}`, plain / 3);
    return { msPerActivity: plain / ACTIVITIES, msPerActivityWithRestart: restarted / ACTIVITIES };
  } finally {
    rmSync(appDir, { recursive: true, force: true });
  }
}
