/**
 * DELTAVAULT_CONFIG naming a blob: read while the app loads (a child process the app waits for),
 * so its policies get their timers like a file's, and an invalid blob stops the host at start
 * with every problem listed against the blob's URL.
 */
import type { ContainerClient } from '@azure/storage-blob';
import type { RecoveryPointSummary } from '../../src/vault/manifest';
import { BLOCK_BYTES } from '../../src/vault/vaultLayout';
import { appSettings, buildApp, cleanUpApp, randomFunctionKey, type BuiltApp } from '../support/appBuild';
import { appHttp } from '../support/appHttp';
import { spawnDevhost, startDevhostProcess, type DevhostProcess } from '../support/devhost';
import { writePattern } from '../support/diskData';
import { eventually } from '../support/eventually';
import { freshContainer } from '../support/storage';

const FUNCTION_KEY = randomFunctionKey();
let app: BuiltApp;
let container: ContainerClient;
let devhost: (DevhostProcess & { baseUrl: string }) | undefined;
const http = appHttp(() => devhost!.baseUrl, FUNCTION_KEY);

async function putJson(name: string, value: unknown): Promise<string> {
  const text = JSON.stringify(value);
  const blob = container.getBlockBlobClient(name);
  await blob.upload(text, Buffer.byteLength(text));
  return blob.url;
}

beforeAll(async () => {
  container = await freshContainer('e2e-cfgblob');
  const disk = container.getPageBlobClient('sources/cb-disk.vhd');
  await disk.create(2 * BLOCK_BYTES);
  await writePattern(disk, 0, 64 * 1024, (at) => `cb${at}`);
  const good = await putJson('config/protection.json', {
    policies: [{ name: 'blobcfg', schedule: '*/10 * * * * *', retention: { keepLast: 2 } }],
    disks: [{ source: disk.url, policy: 'blobcfg', key: 'cb-disk' }],
  });
  app = buildApp({}, {});
  app.writeSettings(appSettings(FUNCTION_KEY, { DELTAVAULT_VAULT_CONTAINER: container.containerName, DELTAVAULT_CONFIG: good }));
});

afterAll(() => cleanUpApp(app, devhost, container));

test("a config blob's policies get their timers and back up on schedule", async () => {
  devhost = await startDevhostProcess(app.cli, app.dir);
  expect(devhost.output()).toMatch(/Function 'backupSchedule-blobcfg': timerTrigger/);
  const points = await eventually(async () => {
    const list = await http.getJson<RecoveryPointSummary[]>('/api/disks/cb-disk/recovery-points');
    expect(list.length).toBeGreaterThan(0);
    return list;
  }, 30_000);
  expect(points[0]?.diskKey).toBe('cb-disk');
  await devhost.stop();
  devhost = undefined;
}, 60_000);

test('an invalid config blob, or a missing one, stops the host at start naming the blob and every problem', async () => {
  const bad = await putJson('config/bad.json', { policies: [{ name: 'x', schedule: 'hourly', retention: { keepLast: 1 } }], disks: [{ source: 'ftp://nowhere', policy: 'y' }] });
  const proc = spawnDevhost(app.cli, [app.dir, '--port', '0'], { DELTAVAULT_CONFIG: bad });
  expect(await proc.exited).toBe(1);
  expect(proc.output()).toMatch(/invalid protection config \(\d+ problems\)/);
  expect(proc.output()).toContain(`${bad}: $.policies[0].schedule:`);
  expect(proc.output()).toContain(`${bad}: $.disks[0].source:`);
  expect(proc.output()).toContain(`${bad}: $.disks[0].policy:`);

  const missing = `${container.url}/config/missing.json`;
  const gone = spawnDevhost(app.cli, [app.dir, '--port', '0'], { DELTAVAULT_CONFIG: missing });
  expect(await gone.exited).toBe(1);
  expect(gone.output()).toContain(`${missing}: $: cannot be read: the blob does not exist`);
  expect(gone.output()).not.toMatch(/AccountKey=|sig=/);
}, 60_000);
