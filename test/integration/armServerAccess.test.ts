/**
 * The ARM test server's data path through the real @azure/arm-compute client: Upload disks and
 * write grants, read grants on incremental snapshots, Get Page Ranges Diff on access URLs,
 * revocation, Azure's snapshot limits, injected faults, and the records tests assert on.
 */
import { RestError } from '@azure/core-rest-pipeline';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { AnonymousCredential, PageBlobClient } from '@azure/storage-blob';
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { findSecrets } from '../support/secretScan';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RG = 'rg-access';
let server: ArmTestServer;
let client: ComputeManagementClient;
let clock = Date.now();

beforeAll(async () => {
  server = await startArmServer({ now: () => clock, limits: { maxIncrementalSnapshotsPerDisk: 12 } });
  client = server.client();
});
afterAll(async () => server.close());

const sasClient = (url: string): PageBlobClient => new PageBlobClient(url, new AnonymousCredential(), { retryOptions: { maxTries: 1 } });

async function emptyDisk(name: string): Promise<string> {
  const disk = await client.disks.beginCreateOrUpdateAndWait(RG, name, { location: 'westeurope', diskSizeGB: 1, creationData: { createOption: 'Empty' } }, server.fastPolling);
  return disk.id!;
}

async function incremental(name: string, diskId: string, jobId = name): Promise<string> {
  const snap = await client.snapshots.beginCreateOrUpdateAndWait(
    RG,
    name,
    { location: 'westeurope', incremental: true, tags: { deltavaultjob: jobId }, creationData: { createOption: 'Copy', sourceResourceId: diskId } },
    server.fastPolling,
  );
  return snap.id!;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(Error);
  return e as Error;
}

test('upload flow: Upload disk → Write grant → Put Page through the SAS → revoke → Read grant reads it back byte-equal', async () => {
  const size = 20 * MiB + 512;
  const disk = await client.disks.beginCreateOrUpdateAndWait(RG, 'upload-1', { location: 'westeurope', creationData: { createOption: 'Upload', uploadSizeBytes: size } }, server.fastPolling);
  expect(disk.diskState).toBe('ReadyToUpload');
  // Reading is refused until the upload ends.
  expect(await failure(client.disks.beginGrantAccessAndWait(RG, 'upload-1', { access: 'Read', durationInSeconds: 60 }, server.fastPolling))).toMatchObject({ statusCode: 409, code: 'OperationNotAllowed' });

  const write = await client.disks.beginGrantAccessAndWait(RG, 'upload-1', { access: 'Write', durationInSeconds: 600 }, server.fastPolling);
  expect(write.accessSAS).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*[?&]sig=/);
  expect((await client.disks.get(RG, 'upload-1')).diskState).toBe('ActiveUpload');
  const data = Buffer.alloc(3 * MiB);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) % 251;
  const writer = sasClient(write.accessSAS!);
  await writer.uploadPages(data.subarray(0, 2 * MiB), 0, 2 * MiB);
  await writer.uploadPages(data.subarray(2 * MiB), 10 * MiB, MiB);
  await client.disks.beginRevokeAccessAndWait(RG, 'upload-1', server.fastPolling);
  expect((await client.disks.get(RG, 'upload-1')).diskState).toBe('Unattached');
  // Revocation is enforced by storage: the old SAS no longer works.
  expect(await failure(writer.uploadPages(Buffer.alloc(512), 0, 512))).toMatchObject({ statusCode: 403 });

  const read = await client.disks.beginGrantAccessAndWait(RG, 'upload-1', { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  const reader = sasClient(read.accessSAS!);
  expect((await reader.getProperties()).contentLength).toBe(size);
  expect((await reader.downloadToBuffer(0, 2 * MiB)).equals(data.subarray(0, 2 * MiB))).toBe(true);
  expect((await reader.downloadToBuffer(10 * MiB, MiB)).equals(data.subarray(2 * MiB))).toBe(true);
  // A read SAS cannot write.
  expect(await failure(reader.uploadPages(Buffer.alloc(512), 0, 512))).toMatchObject({ statusCode: 403 });
  // A disk with an active SAS cannot be deleted.
  expect(await failure(client.disks.beginDeleteAndWait(RG, 'upload-1', server.fastPolling))).toMatchObject({ statusCode: 409, code: 'OperationNotAllowed' });
  await client.disks.beginRevokeAccessAndWait(RG, 'upload-1', server.fastPolling);
  await client.disks.beginDeleteAndWait(RG, 'upload-1', server.fastPolling);

  const grants = server.records.grants().filter((g) => g.resourceId === disk.id);
  expect(grants.map((g) => [g.access, g.endReason])).toEqual([
    ['Write', 'revoked'],
    ['Read', 'revoked'],
  ]);
  expect(grants.every((g) => g.endedAt && g.endedAt >= g.startedAt)).toBe(true);
  expect(server.activeGrants()).toEqual([]);
});

test('an upload resumed by granting Write again: a new SAS, still ActiveUpload, earlier writes kept; only the revoke ends it (Unattached, no more Write)', async () => {
  const size = 20 * MiB + 512;
  const disk = await client.disks.beginCreateOrUpdateAndWait(RG, 'upload-2', { location: 'westeurope', creationData: { createOption: 'Upload', uploadSizeBytes: size } }, server.fastPolling);
  const first = await client.disks.beginGrantAccessAndWait(RG, 'upload-2', { access: 'Write', durationInSeconds: 600 }, server.fastPolling);
  await sasClient(first.accessSAS!).uploadPages(Buffer.alloc(MiB, 1), 0, MiB);

  // What a later slice (another activity) does: grant again, on the disk in ActiveUpload.
  const second = await client.disks.beginGrantAccessAndWait(RG, 'upload-2', { access: 'Write', durationInSeconds: 600 }, server.fastPolling);
  expect(second.accessSAS).not.toBe(first.accessSAS);
  expect((await client.disks.get(RG, 'upload-2')).diskState).toBe('ActiveUpload');
  await sasClient(second.accessSAS!).uploadPages(Buffer.alloc(MiB, 2), 5 * MiB, MiB);

  await client.disks.beginRevokeAccessAndWait(RG, 'upload-2', server.fastPolling);
  expect((await client.disks.get(RG, 'upload-2')).diskState).toBe('Unattached');
  // The revoke ended the upload: every SAS stops working and no Write access is granted again.
  for (const sas of [first.accessSAS!, second.accessSAS!]) expect(await failure(sasClient(sas).uploadPages(Buffer.alloc(512), 0, 512))).toMatchObject({ statusCode: 403 });
  expect(await failure(client.disks.beginGrantAccessAndWait(RG, 'upload-2', { access: 'Write', durationInSeconds: 60 }, server.fastPolling))).toMatchObject({
    statusCode: 409,
    code: 'OperationNotAllowed',
  });

  const read = await client.disks.beginGrantAccessAndWait(RG, 'upload-2', { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  const reader = sasClient(read.accessSAS!);
  expect((await reader.downloadToBuffer(0, MiB)).equals(Buffer.alloc(MiB, 1))).toBe(true);
  expect((await reader.downloadToBuffer(5 * MiB, MiB)).equals(Buffer.alloc(MiB, 2))).toBe(true);
  await client.disks.beginRevokeAccessAndWait(RG, 'upload-2', server.fastPolling);
  expect(server.records.grants().filter((g) => g.resourceId === disk.id).map((g) => [g.access, g.endReason])).toEqual([
    ['Write', 'revoked'],
    ['Write', 'revoked'],
    ['Read', 'revoked'],
  ]);
  expect(server.activeGrants()).toEqual([]);
});

test('incremental snapshots: Read grants, reads through the access URL, and what Azurite answers to getPageRangesDiffForManagedDisks', async () => {
  const diskId = await emptyDisk('diff-disk');
  const vm = server.dataOf(diskId);
  await vm.uploadPages(Buffer.alloc(MiB, 1), 0, MiB);
  await vm.uploadPages(Buffer.alloc(MiB, 2), 8 * MiB, MiB);
  const s1 = await incremental('diff-s1', diskId);
  await vm.uploadPages(Buffer.alloc(512, 3), 4 * MiB, 512);
  await vm.clearPages(8 * MiB, MiB);
  const s2 = await incremental('diff-s2', diskId);

  const g1 = await client.snapshots.beginGrantAccessAndWait(RG, 'diff-s1', { access: 'Read', durationInSeconds: 120 }, server.fastPolling);
  const g2 = await client.snapshots.beginGrantAccessAndWait(RG, 'diff-s2', { access: 'Read', durationInSeconds: 120 }, server.fastPolling);
  const r1 = sasClient(g1.accessSAS!);
  const r2 = sasClient(g2.accessSAS!);
  expect((await r1.downloadToBuffer(8 * MiB, 512)).every((b) => b === 2)).toBe(true);
  expect((await r2.downloadToBuffer(8 * MiB, 512)).every((b) => b === 0)).toBe(true);
  expect((await r2.getPageRanges(0, GiB + 512)).pageRange).toEqual([
    { offset: 0, count: MiB - 1 },
    { offset: 4 * MiB, count: 511 },
  ]);

  // Azurite 3.35 answers a managed-disk diff as a plain Get Page Ranges of the target: it ignores
  // x-ms-previous-snapshot-url (any URL, even one that does not exist) and reports no clear
  // ranges. On Azure the answer would be the 512 bytes at 4 MiB changed and 8 MiB..9 MiB cleared.
  const diff = await r2.getPageRangesDiffForManagedDisks(0, GiB + 512, g1.accessSAS!);
  expect(diff.pageRange).toEqual([
    { offset: 0, count: MiB - 1 },
    { offset: 4 * MiB, count: 511 },
  ]);
  expect(diff.clearRange ?? []).toEqual([]);
  const bogus = await r2.getPageRangesDiffForManagedDisks(0, GiB + 512, 'https://nowhere.invalid/x');
  expect(bogus.pageRange).toEqual(diff.pageRange);
  expect(diff._response.headers.get('server')).toMatch(/Azurite/);

  await client.snapshots.beginRevokeAccessAndWait(RG, 'diff-s1', server.fastPolling);
  await client.snapshots.beginRevokeAccessAndWait(RG, 'diff-s2', server.fastPolling);
  expect(await failure(r1.getProperties())).toMatchObject({ statusCode: 403 });
  expect(server.activeGrants()).toEqual([]);
  for (const id of [s1, s2]) expect(server.records.grants().filter((g) => g.resourceId === id).map((g) => g.endReason)).toEqual(['revoked']);
});

test('a grant that is never revoked ends by itself after durationInSeconds, in the records and in storage', async () => {
  const diskId = await emptyDisk('expiring-disk');
  const snapId = await incremental('expiring', diskId);
  const g = await client.snapshots.beginGrantAccessAndWait(RG, 'expiring', { access: 'Read', durationInSeconds: 1 }, server.fastPolling);
  const reader = sasClient(g.accessSAS!);
  expect((await reader.getProperties()).contentLength).toBe(GiB + 512);
  expect(server.activeGrants().map((a) => a.resourceId)).toEqual([snapId]);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(server.activeGrants()).toEqual([]);
  expect(server.records.grants().find((r) => r.resourceId === snapId)).toMatchObject({ endReason: 'expired', durationInSeconds: 1 });
  expect(await failure(reader.getProperties())).toMatchObject({ statusCode: 403 });
});

test('limits: 5 snapshots of a disk with access at once, 7 incremental snapshots per window, a total per disk', async () => {
  const diskId = await emptyDisk('limits-disk');
  const snaps: string[] = [];
  for (let i = 0; i < 7; i++) snaps.push(await incremental(`lim-${i}`, diskId));
  // The eighth inside five minutes is refused…
  expect(await failure(incremental('lim-7', diskId))).toMatchObject({ statusCode: 409, code: 'OperationNotAllowed' });
  // …and allowed once the (injected) clock has moved past the window.
  clock += 5 * 60_000 + 1;
  snaps.push(await incremental('lim-7', diskId));

  for (let i = 0; i < 5; i++) await client.snapshots.beginGrantAccessAndWait(RG, `lim-${i}`, { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  const sixth = await failure(client.snapshots.beginGrantAccessAndWait(RG, 'lim-5', { access: 'Read', durationInSeconds: 60 }, server.fastPolling));
  expect(sixth).toMatchObject({ statusCode: 409, code: 'OperationNotAllowed' });
  expect(sixth.message).toMatch(/At most 5 snapshots/);
  // Granting again to a snapshot that already has access is not a sixth.
  await client.snapshots.beginGrantAccessAndWait(RG, 'lim-0', { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  await client.snapshots.beginRevokeAccessAndWait(RG, 'lim-0', server.fastPolling);
  await client.snapshots.beginGrantAccessAndWait(RG, 'lim-5', { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  for (const i of [1, 2, 3, 4, 5]) await client.snapshots.beginRevokeAccessAndWait(RG, `lim-${i}`, server.fastPolling);
  expect(server.activeGrants()).toEqual([]);

  // The total (500 in Azure, 12 on this server) counts the snapshots that exist.
  clock += 5 * 60_000 + 1;
  for (let i = 8; i < 12; i++) snaps.push(await incremental(`lim-${i}`, diskId));
  clock += 5 * 60_000 + 1;
  expect(await failure(incremental('lim-12', diskId))).toMatchObject({ statusCode: 409, code: 'OperationNotAllowed', message: expect.stringMatching(/at most 12/) });
  await client.snapshots.beginDeleteAndWait(RG, 'lim-0', server.fastPolling);
  await incremental('lim-12', diskId);
});

test('faults: a 429 with Retry-After is retried by the client after the given delay', async () => {
  await emptyDisk('throttled');
  server.faults.add({ kind: 'throttle', operation: 'disks.get', retryAfterSeconds: 1 });
  const before = server.records.requests().length;
  const started = Date.now();
  const disk = await client.disks.get(RG, 'throttled');
  expect(disk.name).toBe('throttled');
  expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  const answers = server.records.requests().slice(before);
  expect(answers.map((r) => [r.status, r.code])).toEqual([
    [429, 'TooManyRequests'],
    [200, undefined],
  ]);
});

test('faults: a failed snapshot LRO ends Failed with the ARM error; the resource is Failed and a retried PUT succeeds', async () => {
  const diskId = await emptyDisk('lro-disk');
  server.faults.add({ kind: 'lroFailed', operation: 'snapshots.createOrUpdate', code: 'InternalDiskManagementError', message: 'The snapshot could not be taken.' });
  // The PUT's LRO is followed through Azure-AsyncOperation: core-lro reports the failure as an
  // Error whose message carries the ARM code and message (not a RestError).
  const e = await failure(incremental('lro-snap', diskId));
  expect(e.message).toContain('InternalDiskManagementError');
  expect(e.message).toContain('The snapshot could not be taken.');
  expect((await client.snapshots.get(RG, 'lro-snap')).provisioningState).toBe('Failed');
  const op = server.records.operations().find((o) => o.kind === 'snapshots.createOrUpdate' && o.resourceId.endsWith('/lro-snap'));
  expect(op).toMatchObject({ status: 'Failed', error: { code: 'InternalDiskManagementError' } });
  await incremental('lro-snap', diskId);
  expect((await client.snapshots.get(RG, 'lro-snap')).provisioningState).toBe('Succeeded');
});

test('faults: a failed beginGetAccess LRO surfaces as a RestError with the ARM code, and grants nothing', async () => {
  const diskId = await emptyDisk('grant-fail-disk');
  const snapId = await incremental('grant-fail', diskId);
  server.faults.add({ kind: 'lroFailed', operation: 'snapshots.grantAccess', code: 'OperationPreempted', message: 'Preempted.' });
  const e = await failure(client.snapshots.beginGrantAccessAndWait(RG, 'grant-fail', { access: 'Read', durationInSeconds: 60 }, server.fastPolling));
  expect(e).toBeInstanceOf(RestError);
  expect(e).toMatchObject({ code: 'OperationPreempted', statusCode: 500 });
  expect(server.records.grants().filter((g) => g.resourceId === snapId)).toEqual([]);
});

test('faults: a 500 while polling beginGetAccess is retried by the client; more than its retries fail the call', async () => {
  const diskId = await emptyDisk('poll-500-disk');
  const snapId = await incremental('poll-500', diskId);
  const once = server.faults.add({ kind: 'serverError', operation: 'snapshots.grantAccess', phase: 'poll' });
  const granted = await client.snapshots.beginGrantAccessAndWait(RG, 'poll-500', { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  expect(granted.accessSAS).toBeDefined();
  expect(once.hits).toBe(1);
  expect(server.records.requests().some((r) => r.phase === 'poll' && r.operation === 'snapshots.grantAccess' && r.status === 500)).toBe(true);
  await client.snapshots.beginRevokeAccessAndWait(RG, 'poll-500', server.fastPolling);

  server.faults.add({ kind: 'serverError', operation: 'snapshots.grantAccess', phase: 'poll', times: 10 });
  const e = await failure(client.snapshots.beginGrantAccessAndWait(RG, 'poll-500', { access: 'Read', durationInSeconds: 60 }, server.fastPolling));
  expect(e).toMatchObject({ statusCode: 500, code: 'InternalServerError' });
  // The grant was made before the polls failed: it is still active until someone revokes it.
  expect(server.activeGrants().map((g) => g.resourceId)).toEqual([snapId]);
  server.faults.clear();
  await client.snapshots.beginRevokeAccessAndWait(RG, 'poll-500', server.fastPolling);
  expect(server.activeGrants()).toEqual([]);
});

test('records and answers hold no SAS signature and no account key', async () => {
  const text = JSON.stringify([server.records.requests(), server.records.operations(), server.records.grants()]);
  expect(findSecrets(text, [server.storageAccountKey])).toEqual([]);
  expect(findSecrets(`x?sv=1&sig=abc%2Fdef&se=2`, [])).toHaveLength(1);
  expect(findSecrets(`key ${server.storageAccountKey} here`, [server.storageAccountKey]).map((f) => f.kind)).toEqual(['accountKey']);
});
