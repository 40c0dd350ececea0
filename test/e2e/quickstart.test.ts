/**
 * The README's first screen, as a newcomer runs it (issue 4's acceptance 6): `npm start`'s
 * launcher on deltavault with no local.settings.json (it is made from local.settings.example.json,
 * as on a fresh clone) and no protection config, so the demo runs: its own Azurite with data
 * under .azurite/, the seeded demo disk, and its first recovery point within about a minute.
 * Then the README's own curl commands, taken from README.md as printed (only the port differs:
 * the test lets the host pick a free one), list the recovery points, restore one into the
 * `restores` container and follow the restore to its end.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DEMO } from '../../src/demo/demoConfig';
import type { RecoveryPointSummary } from '../../src/vault/manifest';
import { buildApp, type BuiltApp } from '../support/appBuild';
import { spawnDevhost, type DevhostProcess } from '../support/devhost';
import { eventually } from '../support/eventually';

const REPO = path.resolve(__dirname, '..', '..');
const README = readFileSync(path.join(REPO, 'README.md'), 'utf8');
const PRINTED_BASE = 'http://127.0.0.1:7071';
const run = promisify(execFile);

let app: BuiltApp;
let proc: DevhostProcess;
let baseUrl: string;

/** The first README command (inside backticks or a code block) that starts with `prefix`. */
function readmeCommand(prefix: string): string {
  const found = README.split(/`|\n/).map((s) => s.trim()).find((s) => s.startsWith(prefix));
  if (!found) throw new Error(`README.md shows no command starting with ${prefix}`);
  return found.replace(/\s+#.*$/, '');
}

/** Runs a README curl command against this host, with its placeholders filled in. */
async function curl(command: string, fill: Record<string, string> = {}): Promise<unknown> {
  let line = command.split(PRINTED_BASE).join(baseUrl);
  for (const [name, value] of Object.entries(fill)) line = line.split(`<${name}>`).join(value);
  expect(line).not.toMatch(/<[A-Za-z]+>/);
  const { stdout } = await run('bash', ['-c', line], { timeout: 30_000 });
  return JSON.parse(stdout) as unknown;
}

beforeAll(async () => {
  app = buildApp({}, { demo: true });
  // A fresh clone: no local.settings.json, only the example.
  rmSync(path.join(app.dir, 'local.settings.json'));
  copyFileSync(path.join(REPO, 'local.settings.example.json'), path.join(app.dir, 'local.settings.example.json'));
  proc = spawnDevhost(path.join(app.dir, 'dist', 'src', 'devhost', 'localStart.js'), [app.dir, '--port', '0'], { DEVHOST_DEVELOPMENT_STORAGE: undefined });
  baseUrl = (await proc.waitForOutput(/listening on (http:\/\/\S+)/, 60_000))[1] as string;
}, 90_000);

afterAll(async () => {
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGINT');
    await proc.exited;
  }
  app?.remove();
});

test('npm start: the demo disk has a recovery point within a minute, and the README restore works as printed', async () => {
  expect(proc.output()).toMatch(/created local\.settings\.json from local\.settings\.example\.json/);
  const started = Date.now();
  const list = readmeCommand(`curl -s ${PRINTED_BASE}/api/disks/`);
  const points = await eventually(async () => {
    const found = (await curl(list, { diskKey: DEMO.diskKey })) as RecoveryPointSummary[];
    expect(found.length).toBeGreaterThan(0);
    return found;
  }, 75_000);
  expect(Date.now() - started).toBeLessThan(75_000);
  const point = points[0]!;
  expect(point.diskKey).toBe(DEMO.diskKey);

  const summary = (await curl(readmeCommand(`curl -s ${PRINTED_BASE}/api/recovery-points/`), { recoveryPointId: point.id })) as RecoveryPointSummary;
  expect(summary.id).toBe(point.id);

  const started202 = (await curl(readmeCommand(`curl -s -X POST ${PRINTED_BASE}/api/restores`), { recoveryPointId: point.id })) as { id: string };
  expect(started202.id).toMatch(/^restore-[0-9a-f]{32}$/);
  const status = readmeCommand(`curl -s ${PRINTED_BASE}/api/restores/`);
  const done = await eventually(async () => {
    const s = (await curl(status, { id: started202.id })) as { runtimeStatus: string; progress: { bytesDone: number; bytesTotal: number } };
    expect(['Completed', 'Failed']).toContain(s.runtimeStatus);
    return s;
  }, 60_000);
  expect(done.runtimeStatus).toBe('Completed');
  expect(done.progress.bytesDone).toBe(done.progress.bytesTotal);
  expect(done.progress.bytesTotal).toBeGreaterThan(0);

  // Ctrl-C stops the host and its Azurite.
  proc.child.kill('SIGINT');
  expect(await proc.exited).toBe(0);
}, 180_000);
