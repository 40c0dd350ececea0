/**
 * `npm run devhost -- <app folder> [--port N]`: runs a compiled Functions app folder with its own
 * local.settings.json, until SIGINT/SIGTERM stop it cleanly. `UseDevelopmentStorage=true`
 * means the emulator on its standard ports, or the connection string in the environment
 * variable DEVHOST_DEVELOPMENT_STORAGE. A start-up failure prints one line naming the file and
 * field at fault and exits with status 1.
 */
import { builtinExtensions } from './builtinExtensions';
import { startDevhost, type RunningDevhost } from './devhost';
import { devhostErrors, errorMessage, isDevhostError } from './errors';
import { redactSecrets } from './logger';

export const DEVELOPMENT_STORAGE_VARIABLE = 'DEVHOST_DEVELOPMENT_STORAGE';

const USAGE = 'usage: npm run devhost -- <app folder> [--port N]';

export interface CliArguments {
  appDir: string;
  port?: number;
}

export function parseCliArguments(argv: readonly string[]): CliArguments {
  let appDir: string | undefined;
  let port: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--port' || arg === '-p' || arg.startsWith('--port=')) {
      const value = arg.startsWith('--port=') ? arg.slice('--port='.length) : argv[++i];
      if (value === undefined || !/^\d+$/.test(value) || Number(value) > 65535) {
        throw devhostErrors.invalidArgument('--port', `expected a port number 0-65535, got ${JSON.stringify(value ?? '')}`);
      }
      port = Number(value);
    } else if (arg === '--help' || arg === '-h') {
      throw devhostErrors.invalidArgument('arguments', USAGE);
    } else if (arg.startsWith('-')) {
      throw devhostErrors.invalidArgument(arg, `unknown option (${USAGE})`);
    } else if (appDir === undefined) {
      appDir = arg;
    } else {
      throw devhostErrors.invalidArgument(arg, `unexpected argument (${USAGE})`);
    }
  }
  if (appDir === undefined) throw devhostErrors.invalidArgument('app folder', `missing (${USAGE})`);
  return { appDir, port };
}

function fail(e: unknown): never {
  const message = redactSecrets(isDevhostError(e) ? `${e.code}: ${e.message}` : (e instanceof Error ? e.stack ?? e.message : String(e)));
  console.error(`devhost: ${message.replace(/\r?\n\s*/g, ' ⏎ ')}`);
  process.exit(1);
}

export async function main(argv: readonly string[]): Promise<void> {
  let running: RunningDevhost | undefined;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1 || !running) process.exit(1);
    running.host.logger.log('information', `${signal} received`);
    running.stop().then(
      () => process.exit(0),
      (e: unknown) => fail(e),
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('unhandledRejection', (reason) => {
    const line = `Unhandled promise rejection in the app: ${errorMessage(reason)}`;
    if (running) running.host.logger.log('error', line);
    else console.error(`devhost: ${line}`);
  });

  try {
    const args = parseCliArguments(argv);
    running = await startDevhost({
      appDir: args.appDir,
      port: args.port,
      extensions: builtinExtensions(),
      developmentStorage: process.env[DEVELOPMENT_STORAGE_VARIABLE] || undefined,
    });
  } catch (e) {
    fail(e);
  }
}

if (require.main === module) void main(process.argv.slice(2));
