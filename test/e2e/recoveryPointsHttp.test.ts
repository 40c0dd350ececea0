/**
 * End to end, as a user meets it: deltavault is compiled into an app folder, the devhost CLI runs
 * it against the test run's Azurite (DELTAVAULT_VAULT=UseDevelopmentStorage=true, resolved
 * through AzureWebJobsStorage), and the recovery-point routes are called over HTTP with a
 * function key. The recovery points themselves are made beforehand by the engine.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { runBackup } from '../../src/backup/runBackup';
import { listRecoveryPoints } from '../../src/catalog/recoveryPoints';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import type { RecoveryPointSummary } from '../../src/vault/manifest';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { BLOCK_BYTES } from '../../src/vault/vaultLayout';
import { appSettings, buildApp, cleanUpApp, randomFunctionKey, type BuiltApp } from '../support/appBuild';
import { appHttp, expectProblem } from '../support/appHttp';
import { spawnDevhost, startDevhostProcess, testStorage, type DevhostProcess } from '../support/devhost';
import { writePattern } from '../support/diskData';
import { freshContainer } from '../support/storage';

const DISK_KEY = 'web-data';
const FUNCTION_KEY = randomFunctionKey();

let app: BuiltApp;
let devhost: DevhostProcess & { baseUrl: string };
let container: ContainerClient;
/** Newest first, as the engine lists them. */
let points: RecoveryPointSummary[];
const http = appHttp(() => devhost.baseUrl, FUNCTION_KEY);

beforeAll(async () => {
  container = await freshContainer('e2e-rp');
  const disk = container.getPageBlobClient('sources/web-data.vhd');
  await disk.create(4 * BLOCK_BYTES);
  const source = new PageBlobSource(container, disk);
  const vault = new VaultDisk(container, DISK_KEY);
  await writePattern(disk, 0, BLOCK_BYTES, (at) => `one${at}`);
  await runBackup(source, vault, 'e2e-job-1');
  await writePattern(disk, 2 * BLOCK_BYTES, BLOCK_BYTES / 2, (at) => `two${at}`);
  await runBackup(source, vault, 'e2e-job-2');
  points = await listRecoveryPoints(vault);

  app = buildApp(appSettings(FUNCTION_KEY, { DELTAVAULT_VAULT_CONTAINER: container.containerName, DELTAVAULT_RESTORE_TARGETS: 'restores' }));
  devhost = await startDevhostProcess(app.cli, app.dir);
});

afterAll(() => cleanUpApp(app, devhost, container));

describe('the recovery-point routes over HTTP', () => {
  test('authLevel function: no key, no answer', async () => {
    const res = await fetch(`${devhost.baseUrl}/api/disks/${DISK_KEY}/recovery-points`);
    expect(res.status).toBe(401);
  });

  test('GET /api/disks/{diskKey}/recovery-points: 200, JSON, newest first', async () => {
    const res = await http.request<RecoveryPointSummary[]>(`/api/disks/${DISK_KEY}/recovery-points`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(points)));
    expect(res.body.map((p) => p.jobId)).toEqual(['e2e-job-2', 'e2e-job-1']);
  });

  test('an unknown disk has no recovery points: 200 []', async () => {
    const res = await http.request('/api/disks/not-protected/recovery-points');
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });

  test('GET /api/recovery-points/{id}: the summary; ?hashes=true adds the block hashes', async () => {
    const newest = points[0] as RecoveryPointSummary;
    const res = await http.request(`/api/recovery-points/${newest.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(newest)));

    // The key may also come as ?code=, which is not a parameter of the route.
    const withHashes = await fetch(`${devhost.baseUrl}/api/recovery-points/${newest.id}?hashes=true&code=${FUNCTION_KEY}`);
    expect(withHashes.status).toBe(200);
    expect(withHashes.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const body = (await withHashes.json()) as RecoveryPointSummary & { hashes: { index: number; sha256: string }[] };
    expect(body.id).toBe(newest.id);
    expect(body.hashes).toHaveLength(newest.blocks.count);
    expect(body.hashes.map((h) => h.index)).toEqual([0, 2]);
    for (const h of body.hashes) expect(h.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('404 application/problem+json for an unknown recovery point', async () => {
    const id = `${DISK_KEY}.19990101T000000000Z`;
    const problem = expectProblem(await http.request(`/api/recovery-points/${id}`), 404, 'NOT_FOUND');
    expect(problem.title).toBe('Not Found');
    expect(problem.detail).toBe(`recovery point '${id}' does not exist`);
  });

  test('400 application/problem+json for a malformed id, disk key or query', async () => {
    expect(expectProblem(await http.request('/api/recovery-points/not-an-id'), 400, 'INVALID_ARGUMENT').detail).toMatch(/^recovery point id: /);
    expect(expectProblem(await http.request('/api/disks/Web_Data/recovery-points'), 400, 'INVALID_ARGUMENT').detail).toMatch(/^disk key: /);
    const problem = expectProblem(await http.request(`/api/recovery-points/${(points[0] as RecoveryPointSummary).id}?hashes=1`), 400, 'INVALID_ARGUMENT');
    expect(problem.errors).toEqual([{ parameter: 'hashes', detail: "must be 'true' or 'false'" }]);
  });

  test('the host log shows neither the account key nor the function key', async () => {
    await devhost.waitForOutput(/Executed 'getRecoveryPoint'/);
    const key = /AccountKey=([^;]+)/.exec(testStorage())?.[1] as string;
    expect(devhost.output()).not.toContain(key);
    expect(devhost.output()).not.toContain(FUNCTION_KEY);
  });
});

describe('settings are checked when the app loads', () => {
  test('an invalid setting stops the host at start, naming every bad setting and showing no secret', async () => {
    const secret = randomBytes(48).toString('base64');
    // Environment variables win over local.settings.json, so the same app folder serves.
    const proc = spawnDevhost(app.cli, [app.dir, '--port', '0'], {
      DELTAVAULT_VAULT: `DefaultEndpointsProtocol=https;AccountName=prodacct;AccountKey=${secret}!`,
      DELTAVAULT_VAULT_CONTAINER: 'Vault_Container',
      DELTAVAULT_RESTORE_TARGETS: `restores,https://other.blob.core.windows.net/dr?sv=1&sig=${encodeURIComponent(secret)}`,
    });
    expect(await proc.exited).toBe(1);
    const output = proc.output();
    expect(output).toMatch(/devhost: DEVHOST_APP_LOAD_FAILED: .*invalid settings \(3\)/);
    expect(output).toMatch(/DELTAVAULT_VAULT: AccountKey is not a base64 account key/);
    expect(output).toMatch(/DELTAVAULT_VAULT_CONTAINER: must be a container name/);
    expect(output).toMatch(/DELTAVAULT_RESTORE_TARGETS: entry 2 of 2 must not carry a query string/);
    expect(output).not.toContain(secret);
    expect(output).not.toContain(encodeURIComponent(secret));
  });

  test('an invalid protection config file stops the host at start, listing every problem by JSON path; the vault is untouched', async () => {
    const before: string[] = [];
    for await (const item of container.listBlobsFlat({ includeSnapshots: true })) before.push(`${item.name}@${item.snapshot ?? ''}:${item.properties.etag ?? ''}`);
    const configPath = path.join(app.dir, 'bad-protection-config.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        policies: [{ name: 'nightly', schedule: '0 2 * * *', retention: { keepLast: 0 } }],
        disks: [{ source: `${container.url}/sources/web-data.vhd?sv=2024&sig=abc`, policy: 'nighty' }],
      }),
    );
    const proc = spawnDevhost(app.cli, [app.dir, '--port', '0'], { DELTAVAULT_CONFIG: configPath });
    expect(await proc.exited).toBe(1);
    const output = proc.output();
    expect(output).toMatch(/invalid protection config \(\d+ problems\)/);
    expect(output).toContain(`${configPath}: $.policies[0].schedule: has 5 fields`);
    expect(output).toContain(`${configPath}: $.policies[0].retention.keepLast:`);
    expect(output).toContain(`${configPath}: $.disks[0].source: must not carry a query string`);
    expect(output).toContain(`${configPath}: $.disks[0].policy: names policy 'nighty'`);
    expect(output).not.toContain('Host started');
    const after: string[] = [];
    for await (const item of container.listBlobsFlat({ includeSnapshots: true })) after.push(`${item.name}@${item.snapshot ?? ''}:${item.properties.etag ?? ''}`);
    expect(after).toEqual(before);
  });
});
