/**
 * Starts the Azurite emulator that ships in node_modules as a child process on free
 * loopback ports, and stops it. Used by the test run, the benchmarks and `npm start`.
 * Generic: it knows nothing of deltavault.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';

/** The emulator's well-known development account (public, documented by Microsoft). */
export const EMULATOR_ACCOUNT = 'devstoreaccount1';
export const EMULATOR_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteOptions {
  /** Folder for persisted data; omit for in-memory persistence. */
  location?: string;
  blobPort?: number;
  queuePort?: number;
  tablePort?: number;
  startTimeoutInMs?: number;
}

export interface RunningAzurite {
  pid: number;
  blobPort: number;
  queuePort: number;
  tablePort: number;
  connectionString: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function emulatorConnectionString(blobPort: number, queuePort: number, tablePort: number): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${EMULATOR_ACCOUNT}`,
    `AccountKey=${EMULATOR_KEY}`,
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${EMULATOR_ACCOUNT}`,
    `QueueEndpoint=http://127.0.0.1:${queuePort}/${EMULATOR_ACCOUNT}`,
    `TableEndpoint=http://127.0.0.1:${tablePort}/${EMULATOR_ACCOUNT}`,
  ].join(';') + ';';
}

function azuriteEntryPoint(): string {
  const pkg = require.resolve('azurite/package.json');
  return path.join(path.dirname(pkg), 'dist', 'src', 'azurite.js');
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  const blobPort = options.blobPort ?? (await freePort());
  const queuePort = options.queuePort ?? (await freePort());
  const tablePort = options.tablePort ?? (await freePort());
  const args = [
    azuriteEntryPoint(),
    '--blobHost', '127.0.0.1', '--blobPort', String(blobPort),
    '--queueHost', '127.0.0.1', '--queuePort', String(queuePort),
    '--tableHost', '127.0.0.1', '--tablePort', String(tablePort),
    '--skipApiVersionCheck', '--loose', '--disableTelemetry',
  ];
  if (options.location) args.push('--location', options.location);
  else args.push('--inMemoryPersistence');

  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await waitUntilListening(child, 3, options.startTimeoutInMs ?? 30_000);
  return {
    pid: child.pid ?? -1,
    blobPort,
    queuePort,
    tablePort,
    connectionString: emulatorConnectionString(blobPort, queuePort, tablePort),
    stop: () => stopChild(child),
  };
}

function waitUntilListening(child: ChildProcess, services: number, timeoutInMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    let listening = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`Azurite did not start within ${timeoutInMs} ms. Output:\n${output}`));
    }, timeoutInMs);
    const onData = (data: Buffer): void => {
      output += data.toString();
      listening = (output.match(/successfully listening/g) ?? []).length;
      if (listening >= services) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (listening < services) reject(new Error(`Azurite exited with code ${code} before listening. Output:\n${output}`));
    });
  });
}

/** Stops a child process by killing a pid recorded earlier (for a jest global teardown). */
export function stopPid(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // already gone: nothing to stop
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
