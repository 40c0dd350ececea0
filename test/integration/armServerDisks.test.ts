/** The ARM test server through the real @azure/arm-compute client: disks, snapshots, VMs, lists. */
import { RestError } from '@azure/core-rest-pipeline';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { startArmServer, type ArmTestServer } from '../support/armServer';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RG = 'rg-arm';
let server: ArmTestServer;
let client: ComputeManagementClient;

beforeAll(async () => {
  server = await startArmServer({ listPageSize: 2 });
  client = server.client();
});
afterAll(async () => server.close());

function restError(e: unknown): RestError {
  expect(e).toBeInstanceOf(RestError);
  return e as RestError;
}

async function emptyDisk(name: string, tags: Record<string, string> = {}): Promise<string> {
  const disk = await client.disks.beginCreateOrUpdateAndWait(
    RG,
    name,
    { location: 'westeurope', tags, diskSizeGB: 1, creationData: { createOption: 'Empty' } },
    server.fastPolling,
  );
  return disk.id!;
}

test('creates, gets, updates and deletes an empty disk; the LRO polls InProgress then Succeeded', async () => {
  const disk = await client.disks.beginCreateOrUpdateAndWait(
    RG,
    'disk-a',
    { location: 'westeurope', tags: { app: 'web' }, diskSizeGB: 1, creationData: { createOption: 'Empty' } },
    server.fastPolling,
  );
  expect(disk).toMatchObject({ name: 'disk-a', type: 'Microsoft.Compute/disks', provisioningState: 'Succeeded', diskSizeGB: 1, diskSizeBytes: GiB, diskState: 'Unattached', tags: { app: 'web' } });
  expect(disk.id).toBe(`/subscriptions/${server.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/disk-a`);
  const op = server.records.operations().find((o) => o.kind === 'disks.createOrUpdate' && o.resourceId === disk.id);
  expect(op?.status).toBe('Succeeded');
  expect(op?.polls).toBeGreaterThanOrEqual(2); // at least one InProgress answer before Succeeded
  // The page blob behind it: 1 GiB plus the fixed VHD's 512-byte footer, nothing allocated.
  expect((await server.dataOf(disk.id!).getProperties()).contentLength).toBe(GiB + 512);

  expect((await client.disks.get(RG, 'disk-a')).uniqueId).toBe(disk.uniqueId);
  const updated = await client.disks.beginUpdateAndWait(RG, 'disk-a', { tags: { app: 'db' }, diskSizeGB: 2 }, server.fastPolling);
  expect(updated).toMatchObject({ tags: { app: 'db' }, diskSizeGB: 2 });
  expect((await server.dataOf(disk.id!).getProperties()).contentLength).toBe(2 * GiB + 512);

  await client.disks.beginDeleteAndWait(RG, 'disk-a', server.fastPolling);
  const err = restError(await client.disks.get(RG, 'disk-a').catch((e: unknown) => e));
  expect(err.statusCode).toBe(404);
  expect(err.code).toBe('ResourceNotFound');
  // Deleting what is not there is a success, as in ARM.
  await client.disks.beginDeleteAndWait(RG, 'disk-a', server.fastPolling);
});

test('lists disks by resource group and by subscription across pages, with tags for a tag selector', async () => {
  const ids = [await emptyDisk('list-1', { 'deltavault-policy': 'nightly' }), await emptyDisk('list-2'), await emptyDisk('list-3', { 'deltavault-policy': 'nightly' })];
  await client.disks.beginCreateOrUpdateAndWait('rg-other', 'elsewhere', { location: 'westeurope', diskSizeGB: 1, creationData: { createOption: 'Empty' } }, server.fastPolling);
  const inGroup: string[] = [];
  for await (const d of client.disks.listByResourceGroup(RG)) inGroup.push(d.id!);
  expect(inGroup).toEqual(expect.arrayContaining(ids));
  expect(inGroup.some((id) => id.includes('rg-other'))).toBe(false);
  const tagged: string[] = [];
  for await (const d of client.disks.list()) if (d.tags?.['deltavault-policy'] === 'nightly') tagged.push(d.name!);
  expect(tagged.sort()).toEqual(['list-1', 'list-3']);
  const all: string[] = [];
  for await (const d of client.disks.list()) all.push(d.name!);
  expect(all).toContain('elsewhere');
  // listPageSize 2 made the server page: the client followed nextLink.
  expect(server.records.requests().filter((r) => r.operation === 'disks.list').length).toBeGreaterThan(3);
});

test('an incremental snapshot keeps its tags, lists, and is a blob snapshot of the disk bytes', async () => {
  const diskId = await emptyDisk('snap-src');
  await server.dataOf(diskId).uploadPages(Buffer.alloc(MiB, 7), 0, MiB);
  const snap = await client.snapshots.beginCreateOrUpdateAndWait(
    RG,
    'snap-1',
    { location: 'westeurope', incremental: true, tags: { deltavaultjob: 'job-1' }, creationData: { createOption: 'Copy', sourceResourceId: diskId } },
    server.fastPolling,
  );
  expect(snap).toMatchObject({ incremental: true, tags: { deltavaultjob: 'job-1' }, provisioningState: 'Succeeded', diskSizeBytes: GiB });
  expect(snap.creationData?.sourceResourceId).toBe(diskId);
  expect(snap.creationData?.sourceUniqueId).toBe((await client.disks.get(RG, 'snap-src')).uniqueId);
  // Later writes to the disk do not change the snapshot.
  await server.dataOf(diskId).uploadPages(Buffer.alloc(MiB, 8), 0, MiB);
  const snapData = server.dataOf(snap.id!);
  expect(snapData.url).toContain('snapshot=');
  expect((await snapData.download(0, 512)).contentLength).toBe(512);
  const first = await snapData.downloadToBuffer(0, 512);
  expect(first.every((b) => b === 7)).toBe(true);
  const names: string[] = [];
  for await (const s of client.snapshots.listByResourceGroup(RG)) names.push(s.name!);
  expect(names).toContain('snap-1');
  await client.snapshots.beginDeleteAndWait(RG, 'snap-1', server.fastPolling);
  await expect(client.snapshots.get(RG, 'snap-1')).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
});

test('Copy from a snapshot and Import from a blob make disks with the same bytes', async () => {
  const diskId = await emptyDisk('copy-src');
  await server.dataOf(diskId).uploadPages(Buffer.alloc(2 * MiB, 3), 4 * MiB, 2 * MiB);
  const snap = await client.snapshots.beginCreateOrUpdateAndWait(RG, 'copy-snap', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } }, server.fastPolling);
  const copy = await client.disks.beginCreateOrUpdateAndWait(RG, 'copy-dst', { location: 'westeurope', creationData: { createOption: 'Copy', sourceResourceId: snap.id } }, server.fastPolling);
  expect(copy.diskSizeBytes).toBe(GiB);
  const ranges = await server.dataOf(copy.id!).getPageRanges(0, GiB + 512);
  expect(ranges.pageRange).toEqual([{ offset: 4 * MiB, count: 2 * MiB - 1 }]); // sparse: only the written pages (count is the inclusive end's distance)

  const source = server.dataOf(diskId);
  const imported = await client.disks.beginCreateOrUpdateAndWait(RG, 'imported', { location: 'westeurope', creationData: { createOption: 'Import', sourceUri: source.url } }, server.fastPolling);
  const importedData = server.dataOf(imported.id!);
  expect((await importedData.getPageRanges(0, GiB + 512)).pageRange).toEqual([{ offset: 4 * MiB, count: 2 * MiB - 1 }]);
  expect((await importedData.downloadToBuffer(4 * MiB, 2 * MiB)).equals(await source.downloadToBuffer(4 * MiB, 2 * MiB))).toBe(true);
});

test('validation: api-version, create options, sizes and unknown resources answer ARM errors', async () => {
  const bad = restError(
    await client.disks
      .beginCreateOrUpdateAndWait(RG, 'bad', { location: 'westeurope', creationData: { createOption: 'Upload', uploadSizeBytes: 1000 } }, server.fastPolling)
      .catch((e: unknown) => e),
  );
  expect(bad).toMatchObject({ statusCode: 400, code: 'InvalidParameter' });
  const noSource = restError(
    await client.snapshots
      .beginCreateOrUpdateAndWait(RG, 'bad', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: `/subscriptions/${server.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/none` } }, server.fastPolling)
      .catch((e: unknown) => e),
  );
  expect(noSource).toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
  const response = await fetchArm(`/subscriptions/${server.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/x?api-version=2019-01-01`);
  expect(response.status).toBe(400);
  expect(response.body).toMatchObject({ error: { code: 'NoRegisteredProviderFound' } });
  const missing = await fetchArm(`/subscriptions/${server.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/x`);
  expect(missing.body).toMatchObject({ error: { code: 'MissingApiVersionParameter' } });
  const anonymous = await fetchArm(`/subscriptions/${server.subscriptionId}/providers/Microsoft.Compute/disks?api-version=2025-01-02`, false);
  expect(anonymous.status).toBe(401);
});

test('virtual machines: PUT, GET and lists expose the OS and data disk ids; attached disks cannot be deleted', async () => {
  const os = await emptyDisk('vm1-os');
  const data1 = await emptyDisk('vm1-data1');
  const data2 = await emptyDisk('vm1-data2');
  const vm = await client.virtualMachines.beginCreateOrUpdateAndWait(
    RG,
    'vm1',
    {
      location: 'westeurope',
      tags: { 'deltavault-policy': 'nightly' },
      hardwareProfile: { vmSize: 'Standard_D2s_v5' },
      storageProfile: {
        osDisk: { createOption: 'Attach', osType: 'Linux', managedDisk: { id: os } },
        dataDisks: [
          { lun: 0, createOption: 'Attach', managedDisk: { id: data1 } },
          { lun: 1, createOption: 'Attach', managedDisk: { id: data2 } },
        ],
      },
    },
    server.fastPolling,
  );
  expect(vm.provisioningState).toBe('Succeeded');
  const got = await client.virtualMachines.get(RG, 'vm1');
  expect(got.instanceView).toBeUndefined();
  expect([got.storageProfile?.osDisk?.managedDisk?.id, ...(got.storageProfile?.dataDisks ?? []).map((d) => d.managedDisk?.id)]).toEqual([os, data1, data2]);
  expect(server.vmDisks(got.id!)).toEqual([os, data1, data2]);
  const inGroup: string[] = [];
  for await (const v of client.virtualMachines.list(RG)) inGroup.push(v.name!);
  const inSub: string[] = [];
  for await (const v of client.virtualMachines.listAll()) inSub.push(v.name!);
  expect(inGroup).toEqual(['vm1']);
  expect(inSub).toEqual(['vm1']);
  expect(await client.disks.get(RG, 'vm1-os')).toMatchObject({ diskState: 'Attached', managedBy: got.id });
  const err = restError(await client.disks.beginDeleteAndWait(RG, 'vm1-os', server.fastPolling).catch((e: unknown) => e));
  expect(err).toMatchObject({ statusCode: 409, code: 'OperationNotAllowed' });
});

async function fetchArm(path: string, withToken = true): Promise<{ status: number; body: unknown }> {
  // The server's own client pipeline (TLS trust and token) without the SDK's operation layer.
  const { createPipelineFromOptions, createDefaultHttpClient, createPipelineRequest, createHttpHeaders } = await import('@azure/core-rest-pipeline');
  const pipeline = createPipelineFromOptions({ tlsOptions: { ca: server.caPem }, retryOptions: { maxRetries: 0 } });
  const token = withToken ? (await server.credential.getToken('https://management.azure.com/.default'))?.token : undefined;
  const request = createPipelineRequest({ url: `${server.endpoint}${path}`, headers: createHttpHeaders(token ? { authorization: `Bearer ${token}` } : {}) });
  const response = await pipeline.sendRequest(createDefaultHttpClient(), request);
  return { status: response.status, body: response.bodyAsText ? (JSON.parse(response.bodyAsText) as unknown) : undefined };
}
