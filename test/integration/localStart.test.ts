/**
 * `npm start`'s launcher (src/devhost/localStart.ts), run as a user runs it: it starts its own
 * Azurite with its data under <app>/.azurite/, runs the app, and Ctrl-C (SIGINT) stops both.
 */
import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import * as path from 'node:path';
import { createWorkspace, spawnDevhost, type Workspace } from '../support/devhost';

let workspace: Workspace;
beforeAll(() => {
  workspace = createWorkspace();
});
afterAll(() => workspace.remove());

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('starts Azurite (data in .azurite/) and the app; SIGINT stops both cleanly', async () => {
  const appDir = workspace.app('sampleApp');
  rmSync(path.join(appDir, 'local.settings.json'));
  // No local.settings.json: it is made from the example, as on a fresh clone.
  copyFileSync(path.join(__dirname, '..', 'fixtures', 'sampleApp', 'local.settings.json'), path.join(appDir, 'local.settings.example.json'));

  const launcher = path.join(workspace.root, 'devhost', 'localStart.js');
  const proc = spawnDevhost(launcher, [appDir, '--port', '0'], { DEVHOST_DEVELOPMENT_STORAGE: undefined });
  try {
    const azurite = await proc.waitForOutput(/Azurite on 127\.0\.0\.1 \(blob (\d+), queue (\d+), table (\d+)\)/, 30_000);
    const blobPort = Number(azurite[1]);
    const listening = await proc.waitForOutput(/listening on (http:\/\/\S+)/, 30_000);
    expect(proc.output()).toMatch(/created local\.settings\.json from local\.settings\.example\.json/);
    expect(existsSync(path.join(appDir, 'local.settings.json'))).toBe(true);

    const res = await fetch(`${listening[1]}/api/hello?name=start`);
    expect(res.status).toBe(200);
    expect(readdirSync(path.join(appDir, '.azurite')).length).toBeGreaterThan(0);
    expect(await portAnswers(blobPort)).toBe(true);

    proc.child.kill('SIGINT');
    expect(await proc.exited).toBe(0);
    // Azurite went with it.
    const deadline = Date.now() + 10_000;
    while ((await portAnswers(blobPort)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await portAnswers(blobPort)).toBe(false);
  } finally {
    if (proc.child.exitCode === null && proc.child.signalCode === null) await proc.stop();
  }
}, 90_000);
