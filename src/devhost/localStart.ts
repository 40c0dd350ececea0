/**
 * `npm start`: runs a Functions app folder (default: the current one) the way `func start`
 * would, with no cloud at all — starts the Azurite in node_modules with its data under
 * `<app>/.azurite/` (kept across runs), creates local.settings.json from
 * local.settings.example.json when there is none, and runs the devhost CLI against that
 * Azurite. Ctrl-C stops the host, then Azurite. Generic: it knows nothing of the app.
 */
import { copyFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { startAzurite, stopPid } from './azuriteLauncher';
import { DEVELOPMENT_STORAGE_VARIABLE, main as runDevhost, parseCliArguments } from './cli';

const STANDARD_PORTS = { blobPort: 10000, queuePort: 10001, tablePort: 10002 };

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function start(argv: readonly string[]): Promise<void> {
  const args = parseCliArguments(argv.some((a) => !a.startsWith('-')) ? argv : ['.', ...argv]);
  const appDir = path.resolve(args.appDir);
  const settings = path.join(appDir, 'local.settings.json');
  const example = path.join(appDir, 'local.settings.example.json');
  if (!existsSync(settings) && existsSync(example)) {
    copyFileSync(example, settings);
    console.warn(`start: created local.settings.json from local.settings.example.json`);
  }

  // The emulator's standard ports when they are free (so other tools find it), else any.
  const free = await Promise.all(Object.values(STANDARD_PORTS).map(portIsFree));
  const azurite = await startAzurite({ location: path.join(appDir, '.azurite'), ...(free.every(Boolean) ? STANDARD_PORTS : {}) });
  process.on('exit', () => stopPid(azurite.pid));
  console.warn(
    `start: Azurite on 127.0.0.1 (blob ${azurite.blobPort}, queue ${azurite.queuePort}, table ${azurite.tablePort}), data in ${path.relative(process.cwd(), path.join(appDir, '.azurite')) || '.azurite'}/`,
  );
  process.env[DEVELOPMENT_STORAGE_VARIABLE] = azurite.connectionString;
  await runDevhost([appDir, '--port', String(args.port ?? 7071)]);
}

if (require.main === module) {
  start(process.argv.slice(2)).catch((e: unknown) => {
    console.error(`start: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
