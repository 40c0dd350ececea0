/**
 * Runs the devhost as a client sees it: the devhost sources and a fixture app are compiled
 * (TypeScript → CommonJS, as `npm run build` would) into a scratch folder inside the repository
 * (node_modules/.cache, so `@azure/functions` resolves from the repo's node_modules), and the
 * devhost CLI runs as a child process against the Azurite of the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';

const REPO = path.resolve(__dirname, '..', '..');
const SCRATCH = path.join(REPO, 'node_modules', '.cache', 'deltavault-devhost-tests');

/** Compiles every .ts file under `sourceDir` to CommonJS under `outDir` (as `npm run build` would, file by file). */
export function transpileTree(sourceDir: string, outDir: string): void {
  for (const entry of readdirSync(sourceDir, { withFileTypes: true })) {
    const source = path.join(sourceDir, entry.name);
    if (entry.isDirectory()) transpileTree(source, path.join(outDir, entry.name));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const out = ts.transpileModule(readFileSync(source, 'utf8'), {
        fileName: source,
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
          sourceMap: false,
        },
      });
      mkdirSync(outDir, { recursive: true });
      writeFileSync(path.join(outDir, entry.name.replace(/\.ts$/, '.js')), out.outputText);
    }
  }
}

export interface Workspace {
  root: string;
  /** The compiled devhost CLI. */
  cli: string;
  /** A compiled copy of a fixture app (package.json, host.json, local.settings.json, dist/). */
  app(fixture?: string): string;
  remove(): void;
}

/** A scratch folder with the devhost compiled into it. */
export function createWorkspace(): Workspace {
  const root = path.join(SCRATCH, `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`);
  transpileTree(path.join(REPO, 'src', 'devhost'), path.join(root, 'devhost'));
  let apps = 0;
  return {
    root,
    cli: path.join(root, 'devhost', 'cli.js'),
    app(fixture = 'sampleApp'): string {
      const source = path.join(REPO, 'test', 'fixtures', fixture);
      const target = path.join(root, `${fixture}-${apps++}`);
      mkdirSync(target, { recursive: true });
      for (const file of ['package.json', 'host.json', 'local.settings.json']) {
        cpSync(path.join(source, file), path.join(target, file));
      }
      transpileTree(path.join(source, 'src'), path.join(target, 'dist'));
      return target;
    },
    remove(): void {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function testStorage(): string {
  const cs = process.env.DELTAVAULT_TEST_STORAGE;
  if (!cs) throw new Error('DELTAVAULT_TEST_STORAGE is not set: run the tests through jest (its global setup starts Azurite)');
  return cs;
}

export interface DevhostProcess {
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the match once a line matching `pattern` appears. */
  waitForOutput(pattern: RegExp, timeoutInMs?: number): Promise<RegExpMatchArray>;
  /** The exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** SIGTERM, then the exit. */
  stop(): Promise<number | string>;
}

/** Runs the devhost CLI; `env` adds variables (undefined removes one). */
export function spawnDevhost(cli: string, args: string[], env: Record<string, string | undefined> = {}): DevhostProcess {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, DEVHOST_DEVELOPMENT_STORAGE: testStorage(), ...env };
  for (const [key, value] of Object.entries(childEnv)) if (value === undefined) delete childEnv[key];
  const child = spawn(process.execPath, [cli, ...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (data: Buffer): void => {
    output += data.toString();
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
      for (const l of [...listeners]) l();
    });
  });
  const waitForOutput = (pattern: RegExp, timeoutInMs = 15_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const m = output.match(pattern);
        if (m) {
          done();
          resolve(m);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          done();
          reject(new Error(`devhost exited before printing ${pattern}. Output:\n${output}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`devhost did not print ${pattern} within ${timeoutInMs} ms. Output:\n${output}`));
      }, timeoutInMs);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  return {
    child,
    output: () => output,
    waitForOutput,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Starts the devhost on a free port and resolves with its base URL once it listens. */
export async function startDevhostProcess(
  cli: string,
  appDir: string,
  env: Record<string, string | undefined> = {},
): Promise<DevhostProcess & { baseUrl: string }> {
  const proc = spawnDevhost(cli, [appDir, '--port', '0'], env);
  try {
    const m = await proc.waitForOutput(/listening on (http:\/\/\S+)/);
    return { ...proc, baseUrl: m[1] as string };
  } catch (e) {
    await proc.stop();
    throw e;
  }
}

/** Queue names unique to one test (lower-case, valid). */
export function uniqueQueueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`.toLowerCase();
}

export function testQueue(name: string): QueueClient {
  return QueueServiceClient.fromConnectionString(testStorage()).getQueueClient(name);
}

/** Waits for the next message on `queue` (base64-decoded, as the host writes them) and deletes it. */
export async function receiveOne(queue: QueueClient, timeoutInMs = 15_000): Promise<{ text: string; dequeueCount: number }> {
  const deadline = Date.now() + timeoutInMs;
  while (Date.now() < deadline) {
    const exists = await queue.exists();
    if (exists) {
      const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 30 });
      const message = receivedMessageItems[0];
      if (message) {
        await queue.deleteMessage(message.messageId, message.popReceipt);
        return { text: Buffer.from(message.messageText, 'base64').toString('utf8'), dequeueCount: message.dequeueCount };
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`no message arrived on queue '${queue.name}' within ${timeoutInMs} ms`);
}

/** Sends `content` base64-encoded, as host.json's default messageEncoding expects. */
export async function sendBase64(queue: QueueClient, content: string): Promise<void> {
  await queue.createIfNotExists();
  await queue.sendMessage(Buffer.from(content, 'utf8').toString('base64'));
}
