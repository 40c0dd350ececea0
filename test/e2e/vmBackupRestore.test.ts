/**
 * End to end, a whole virtual machine (issue 5's acceptance 2-4): deltavault compiled into an
 * app folder and run by the devhost CLI, reaching "Azure Resource Manager" — the ARM test server
 * — exactly as in Azure: over HTTPS (the server's CA trusted through NODE_EXTRA_CA_CERTS) with
 * the app's managed identity (App Service's IDENTITY_ENDPOINT, which ManagedIdentityCredential
 * uses), the real @azure/arm-compute client, and disk bytes in Azurite behind real SAS URLs.
 *
 *   a VM with an OS disk and two data disks → the schedule fires → one VM recovery point whose
 *   three disk points share its timestamp → POST /api/restores of the VM point → three new
 *   managed disks, each byte for byte the source disk; no access left granted; and no SAS
 *   signature or account key in the host's log, the job history or the orchestration history.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { TableClient } from '@azure/data-tables';
import type { ContainerClient } from '@azure/storage-blob';
import type { DiskStatus } from '../../src/api/disksApi';
import { deriveDiskKey, parseDiskSource } from '../../src/config/protectionConfig';
import type { RecoveryPointSummary } from '../../src/vault/manifest';
import { jobsTableName } from '../../src/jobs/jobsTable';
import { VHD_FOOTER_BYTES } from '../../src/disks/managedDiskSource';
import { appSettings, buildApp, cleanUpApp, randomFunctionKey, type BuiltApp } from '../support/appBuild';
import { appHttp } from '../support/appHttp';
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { startDevhostProcess, testStorage, type DevhostProcess } from '../support/devhost';
import { pattern } from '../support/diskData';
import { eventually } from '../support/eventually';
import { findSecrets } from '../support/secretScan';
import { freshContainer, sameBytes, testBlobService } from '../support/storage';

const MiB = 1024 * 1024;
const RG = 'rg-vm-e2e';
const RESTORE_RG = 'rg-vm-restores';
const VM_KEY = 'app-vm';
const FUNCTION_KEY = randomFunctionKey();

let server: ArmTestServer;
let app: BuiltApp;
let devhost: DevhostProcess & { baseUrl: string };
let container: ContainerClient;
let vmId: string;
const http = appHttp(() => devhost.baseUrl, FUNCTION_KEY);
const diskIds: string[] = [];

beforeAll(async () => {
  // Operations end at the first poll, so the app (polling every 2 s, as in Azure) does not wait.
  server = await startArmServer({ pollsBeforeDone: 0 });
  const client = server.client();
  for (const [name, gib] of [
    ['app-os', 1],
    ['app-data0', 1],
    ['app-data1', 2],
  ] as const) {
    const disk = await client.disks.beginCreateOrUpdateAndWait(RG, name, { location: 'westeurope', diskSizeGB: gib, creationData: { createOption: 'Empty' } }, server.fastPolling);
    diskIds.push(disk.id!);
    // What the VM wrote: a few extents per disk, different on each.
    const data = server.dataOf(disk.id!);
    for (const [offset, bytes] of [
      [0, 2 * MiB],
      [300 * MiB + 4096, 64 * 1024],
      [900 * MiB, 1 * MiB],
    ] as const) {
      await data.uploadPages(pattern(`${name}-${offset}`, bytes), offset, bytes);
    }
  }
  const vm = await client.virtualMachines.beginCreateOrUpdateAndWait(
    RG,
    'app',
    {
      location: 'westeurope',
      hardwareProfile: { vmSize: 'Standard_D2s_v5' },
      storageProfile: {
        osDisk: { createOption: 'Attach', osType: 'Linux', managedDisk: { id: diskIds[0]! } },
        dataDisks: [
          { lun: 0, createOption: 'Attach', managedDisk: { id: diskIds[1]! } },
          { lun: 1, createOption: 'Attach', managedDisk: { id: diskIds[2]! } },
        ],
      },
    },
    server.fastPolling,
  );
  vmId = vm.id!;

  container = await freshContainer('e2e-vm');
  app = buildApp({}, {});
  const configPath = path.join(app.dir, 'protection-config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      policies: [{ name: 'vms', schedule: '*/15 * * * * *', retention: { keepLast: 3 } }],
      disks: [{ source: vmId, policy: 'vms', key: VM_KEY }],
    }),
  );
  app.writeSettings(
    appSettings(FUNCTION_KEY, {
      DELTAVAULT_VAULT_CONTAINER: container.containerName,
      DELTAVAULT_RESTORE_TARGETS: `/subscriptions/${server.subscriptionId}/resourceGroups/${RESTORE_RG}`,
      DELTAVAULT_CONFIG: configPath,
      DELTAVAULT_ARM__endpoint: server.endpoint,
      DELTAVAULT_ARM__credential: 'managedidentity',
    }),
  );
  devhost = await startDevhostProcess(app.cli, app.dir, { NODE_EXTRA_CA_CERTS: await server.writeCaFile(), ...server.managedIdentity.env() });
}, 120_000);

afterAll(async () => {
  await cleanUpApp(app, devhost, container);
  await server?.close();
});

test('a scheduled VM backup, then a restore of the VM point into three new managed disks', async () => {
  // ---- the schedule fires: one VM point, three disk points with its timestamp
  const status = await eventually(async () => {
    const [vm] = await http.getJson<DiskStatus[]>('/api/disks');
    expect(vm?.lastRecoveryPoint).not.toBeNull();
    return vm!;
  }, 90_000);
  expect(status).toMatchObject({ key: VM_KEY, source: { kind: 'virtualMachine', id: vmId }, rpo: { met: true } });
  const vmPointId = status.lastRecoveryPoint!.id;
  const stamp = vmPointId.slice(VM_KEY.length + 1);
  const diskKeys = diskIds.map((id) => deriveDiskKey(parseDiskSource(id)!));
  const diskPoints: RecoveryPointSummary[] = [];
  for (const key of diskKeys) {
    const points = await http.getJson<RecoveryPointSummary[]>(`/api/disks/${key}/recovery-points`);
    const point = points.find((p) => p.id === `${key}.${stamp}`);
    expect(point).toBeDefined();
    diskPoints.push(point!);
  }
  expect(diskPoints.map((p) => p.mode)).toEqual(['full', 'full', 'full']);

  // ---- restore the VM point: three new disks
  const res = await http.post<{ id: string }>('/api/restores', { recoveryPointId: vmPointId, target: { kind: 'managedDisk', resourceGroup: RESTORE_RG, name: 'app-restored' } });
  expect(res.status).toBe(202);
  const done = await http.settled<{ runtimeStatus: string; output?: { disks: { diskId: string; recoveryPointId: string; sizeBytes: number }[] }; progress: { bytesDone: number; bytesTotal: number } }>(
    `/api/restores/${res.body.id}`,
    120_000,
  );
  expect(done.runtimeStatus).toBe('Completed');
  expect(done.progress.bytesDone).toBe(done.progress.bytesTotal);
  const restored = done.output!.disks;
  expect(restored.map((d) => d.diskId.split('/').pop()).sort()).toEqual(['app-restored-lun0', 'app-restored-lun1', 'app-restored-os']);
  for (const [i, sourceId] of diskIds.entries()) {
    const point = diskPoints[i]!;
    const disk = restored.find((d) => d.recoveryPointId === point.id)!;
    // A managed disk's point holds its VHD-footer sector too (the access URL's blob is the disk
    // plus 512 bytes); the restored disk has a valid footer there, the disk's bytes before it.
    const dataBytes = point.sizeBytes - VHD_FOOTER_BYTES;
    const copy = server.dataOf(disk.diskId);
    expect((await copy.getProperties()).contentLength).toBe(point.sizeBytes);
    expect(await sameBytes(copy, server.dataOf(sourceId), dataBytes)).toBe(true);
    expect((await copy.downloadToBuffer(dataBytes, 8)).toString('latin1')).toBe('conectix');
  }

  // ---- faults: throttling and a 500 while granting access are retried and the backup succeeds;
  // a snapshot that keeps failing ends each disk's job with backup.failed, and no point is lost.
  const pointsBefore = async (): Promise<string[]> =>
    (await Promise.all(diskKeys.map((k) => http.getJson<RecoveryPointSummary[]>(`/api/disks/${k}/recovery-points`)))).flat().map((p) => p.id);
  server.faults.add({ kind: 'throttle', operation: 'snapshots.grantAccess', times: 2, retryAfterSeconds: 1 });
  server.faults.add({ kind: 'serverError', operation: 'snapshots.grantAccess', phase: 'poll', times: 1 });
  const afterFaults = await eventually(async () => {
    const [vm] = await http.getJson<DiskStatus[]>('/api/disks');
    expect(vm?.lastRecoveryPoint?.id).not.toBe(vmPointId);
    return vm!.lastRecoveryPoint!.id;
  }, 90_000);
  expect(afterFaults > vmPointId).toBe(true);
  const failing = server.faults.add({ kind: 'lroFailed', operation: 'snapshots.createOrUpdate', times: 100_000, code: 'InternalOperationError', message: 'the snapshot could not be made' });
  const failed = await eventually(async () => {
    const jobs = await http.getJson<{ diskKey: string; status: string; error?: { code: string; message: string } }[]>('/api/jobs?status=failed');
    const ours = jobs.filter((j) => diskKeys.includes(j.diskKey));
    expect(new Set(ours.map((j) => j.diskKey)).size).toBe(3);
    return ours;
  }, 150_000);
  expect(failed[0]!.error?.code).toBe('STORAGE_FAILED');
  expect(failed[0]!.error?.message).toMatch(/snapshot/i);
  // While snapshots keep failing, the next fire fails too, and no recovery point goes away.
  const kept = await pointsBefore();
  const hits = failing.hits;
  await eventually(async () => expect(failing.hits).toBeGreaterThanOrEqual(hits + 3), 60_000);
  expect((await pointsBefore()).sort()).toEqual([...kept].sort());
  server.faults.clear();

  // ---- no access stays granted; no secret was written anywhere the app writes
  await devhost.stop();
  expect(server.activeGrants()).toEqual([]);
  const texts: string[] = [devhost.output()];
  const storage = testStorage();
  for (const table of [`${app.hubName}Orchestrations`, jobsTableName(app.eventsQueue)]) {
    const client = TableClient.fromConnectionString(storage, table, { allowInsecureConnection: true });
    for await (const entity of client.listEntities()) texts.push(JSON.stringify(entity));
  }
  const payloads = testBlobService().getContainerClient(`${app.hubName}-dh-payloads`);
  if (await payloads.exists()) for await (const blob of payloads.listBlobsFlat()) texts.push((await payloads.getBlobClient(blob.name).downloadToBuffer()).toString('utf8'));
  for await (const blob of container.listBlobsFlat({ prefix: 'vms/' })) texts.push((await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8'));
  expect(texts.flatMap((t) => findSecrets(t, [server.storageAccountKey]))).toEqual([]);
}, 400_000);
