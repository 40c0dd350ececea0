/**
 * The ARM test server as an app in Azure meets ARM: a separate Node process that knows nothing
 * of the tests uses @azure/identity's `new ManagedIdentityCredential()` (App Service's
 * `IDENTITY_ENDPOINT` / `IDENTITY_HEADER`, as on a Function App) and trusts the server through
 * `NODE_EXTRA_CA_CERTS` (`server.writeCaFile()`), then reads a disk, takes an incremental
 * snapshot and grants and revokes access through the real Compute client.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { emptyManagedDisk } from '../support/managedDisks';
import { findSecrets } from '../support/secretScan';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../..');
let server: ArmTestServer;

beforeAll(async () => {
  server = await startArmServer();
});
afterAll(async () => server.close());

/** Runs `code` (CommonJS) in a child Node process at the repository root with `env` added. */
async function child(code: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, ['-e', code], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
}

test('a child process with App Service managed-identity variables gets the server token and lists and snapshots a disk', async () => {
  const diskId = await emptyManagedDisk(server, 'rg-mi', 'mi-disk', 1);
  const caFile = await server.writeCaFile();
  // The child uses the SDKs exactly as the app does in Azure: no test credential, no TLS options.
  const code = `
    const { ManagedIdentityCredential } = require('@azure/identity');
    const { ComputeManagementClient } = require('@azure/arm-compute');
    (async () => {
      const credential = new ManagedIdentityCredential();
      const client = new ComputeManagementClient(credential, process.env.SUB, { endpoint: process.env.ARM });
      const disk = await client.disks.get('rg-mi', 'mi-disk');
      const snap = await client.snapshots.createOrUpdate('rg-mi', 'mi-snap', {
        location: disk.location, incremental: true, creationData: { createOption: 'Copy', sourceResourceId: disk.id } }, { updateIntervalInMs: 10 });
      const granted = await client.snapshots.grantAccess('rg-mi', 'mi-snap', { access: 'Read', durationInSeconds: 60 }, { updateIntervalInMs: 10 });
      await client.snapshots.revokeAccess('rg-mi', 'mi-snap', { updateIntervalInMs: 10 });
      console.log(JSON.stringify({ disk: disk.id, snapshot: snap.id, incremental: snap.incremental, granted: typeof granted.accessSAS }));
    })().catch((e) => { console.error('child failed: ' + (e && e.message)); process.exit(1); });
  `;
  const { stdout, stderr } = await child(code, { ...server.managedIdentity.env(), NODE_EXTRA_CA_CERTS: caFile, SUB: server.subscriptionId, ARM: server.endpoint });
  expect(findSecrets(stdout + stderr, [server.storageAccountKey])).toEqual([]);
  expect(JSON.parse(stdout.trim())).toEqual({ disk: diskId, snapshot: expect.stringMatching(/\/snapshots\/mi-snap$/), incremental: true, granted: 'string' });
  expect(server.managedIdentity.requests()).toContainEqual(expect.objectContaining({ status: 200, resource: 'https://management.azure.com' }));
  expect(server.activeGrants()).toEqual([]);
});

test('the identity endpoint refuses a request without the identity header, and the server refuses a process without a token', async () => {
  const answer = await fetch(`${server.managedIdentity.endpoint}?resource=https://management.azure.com&api-version=2019-08-01`);
  expect(answer.status).toBe(401);
  const caFile = await server.writeCaFile();
  const code = `
    const { ManagedIdentityCredential } = require('@azure/identity');
    const { ComputeManagementClient } = require('@azure/arm-compute');
    const client = new ComputeManagementClient(new ManagedIdentityCredential(), process.env.SUB, { endpoint: process.env.ARM, retryOptions: { maxRetries: 0 } });
    client.disks.get('rg-mi', 'x').then(() => console.log('unexpected'), (e) => console.log(e.name));
  `;
  const { stdout } = await child(code, { IDENTITY_ENDPOINT: server.managedIdentity.endpoint, IDENTITY_HEADER: 'wrong', NODE_EXTRA_CA_CERTS: caFile, SUB: server.subscriptionId, ARM: server.endpoint });
  expect(stdout.trim()).toMatch(/AuthenticationRequiredError|CredentialUnavailableError/);
});
