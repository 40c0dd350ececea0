/**
 * ManagedDiskSource through the real @azure/arm-compute client against the ARM test server:
 * deterministic incremental snapshots, listing by tag and source, windowed range queries on
 * access URLs, readers, and access that is always revoked.
 */
import { collectRanges, collectDiff } from '../../src/disks/diskSource';
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { emptyManagedDisk, managedSource } from '../support/managedDisks';
import { findSecrets } from '../support/secretScan';
import { ManagedDiskSource, VHD_FOOTER_BYTES } from '../../src/disks/managedDiskSource';
import { snapshotNameFor, MAX_SNAPSHOT_NAME_LENGTH } from '../../src/disks/managedDiskNaming';
import { parseDiskId } from '../../src/azure/armResourceId';
import { DeltavaultError } from '../../src/errors';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const RG = 'rg-mds';
let server: ArmTestServer;
const captured: unknown[] = [];

beforeAll(async () => {
  server = await startArmServer();
});
afterEach(() => {
  // No access stays granted after any test, failed or not.
  expect(server.activeGrants()).toEqual([]);
  server.faults.clear();
});
afterAll(async () => {
  expect(findSecrets(JSON.stringify(captured), [server.storageAccountKey])).toEqual([]);
  await server.close();
});

function pattern(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 31 + seed) % 251;
  return b;
}

test('snapshot names are deterministic, within Azure rules, and differ per disk and job', () => {
  const long = `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/${'d'.repeat(80)}`;
  const name = snapshotNameFor(long, 'd'.repeat(80), `job:${'x'.repeat(120)}`);
  expect(name.length).toBeLessThanOrEqual(MAX_SNAPSHOT_NAME_LENGTH);
  expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]$/);
  expect(snapshotNameFor(long, 'd', 'j1')).toBe(snapshotNameFor(long.toUpperCase(), 'd', 'j1'));
  expect(snapshotNameFor(long, 'd', 'j1')).not.toBe(snapshotNameFor(long, 'd', 'j2'));
  expect(parseDiskId('/subscriptions/S/resourceGroups/G/providers/microsoft.compute/DISKS/n')).toEqual({ subscriptionId: 'S', resourceGroup: 'G', type: 'disks', name: 'n' });
  expect(() => parseDiskId('/subscriptions/S/resourceGroups/G/providers/Microsoft.Compute/snapshots/n')).toThrow(DeltavaultError);
});

test('createSnapshot makes one incremental snapshot per job; a retry finds it; list, get, delete', async () => {
  const diskId = await emptyManagedDisk(server, RG, 'basic', 1);
  const source = managedSource(server, diskId);
  const first = await source.createSnapshot('job-1');
  captured.push(first);
  expect(first.id).toMatch(/\/providers\/Microsoft\.Compute\/snapshots\/dv-basic-job-1-[0-9a-f]{12}$/);
  expect(first.sizeBytes).toBe(GiB + VHD_FOOTER_BYTES);
  expect(first.jobId).toBe('job-1');
  const again = await source.createSnapshot('job-1');
  expect(again).toEqual(first);
  const creates = server.records.requests().filter((r) => r.operation === 'snapshots.createOrUpdate' && r.phase === 'initial');
  expect(creates).toHaveLength(1);
  const snap = await server.client().snapshots.get(RG, first.id.split('/').pop()!);
  expect(snap).toMatchObject({ incremental: true, tags: { 'deltavault-job': 'job-1' }, creationData: { createOption: 'Copy', sourceResourceId: diskId } });

  const second = await source.createSnapshot('job-2');
  // A snapshot of another disk in the same group, and one of this disk not made by deltavault, are not listed.
  const other = await emptyManagedDisk(server, RG, 'basic-other', 1);
  await managedSource(server, other).createSnapshot('job-1');
  await server.client().snapshots.beginCreateOrUpdateAndWait(RG, 'manual', { location: 'westeurope', incremental: true, creationData: { createOption: 'Copy', sourceResourceId: diskId } }, server.fastPolling);
  expect((await source.listSnapshots()).map((s) => s.jobId)).toEqual(['job-1', 'job-2']);
  expect(await source.findSnapshot('job-2')).toEqual(second);
  expect(await source.findSnapshot('job-3')).toBeUndefined();
  expect(await source.getSnapshot(first.id)).toEqual(first);
  await expect(source.deleteSnapshot(`/subscriptions/${server.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/snapshots/manual`)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

  await source.deleteSnapshot(first.id);
  await source.deleteSnapshot(first.id); // idempotent
  await expect(source.getSnapshot(first.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect((await source.listSnapshots()).map((s) => s.jobId)).toEqual(['job-2']);
});

test('allocated ranges and the diff are queried in windows; readers read through the access URL', async () => {
  const diskId = await emptyManagedDisk(server, RG, 'windows', 1);
  const source = managedSource(server, diskId, { rangeWindowBytes: 64 * MiB });
  const data = server.dataOf(diskId);
  await data.uploadPages(pattern(MiB, 1), 0, MiB);
  await data.uploadPages(pattern(512, 2), 100 * MiB - 512, 512); // across a window boundary: [100 MiB - 512, 100 MiB)
  await data.uploadPages(pattern(2 * MiB, 3), 127 * MiB, 2 * MiB); // spans the 128 MiB boundary
  const s1 = await source.createSnapshot('w-1');
  await data.uploadPages(pattern(4 * MiB, 4), 900 * MiB, 4 * MiB);
  await data.clearPages(0, 512);
  const s2 = await source.createSnapshot('w-2');

  const before = server.records.requests().length;
  const allocated = await collectRanges(source.allocatedRangePages(s1.id));
  captured.push(allocated);
  expect(allocated).toEqual([
    { start: 0, end: MiB },
    { start: 100 * MiB - 512, end: 100 * MiB },
    { start: 127 * MiB, end: 129 * MiB },
  ]);
  const diff = await collectDiff(source.changedRangePages(s1.id, s2.id));
  captured.push(diff);
  // Azurite's diff ignores the previous snapshot: every valid range of s2, no clear ranges.
  expect(diff.changed).toEqual([
    { start: 512, end: MiB },
    { start: 100 * MiB - 512, end: 100 * MiB },
    { start: 127 * MiB, end: 129 * MiB },
    { start: 900 * MiB, end: 904 * MiB },
  ]);
  expect(await source.diffFidelity()).toBe('superset');
  // One grant per snapshot per call, each revoked.
  const arm = server.records.requests().slice(before);
  expect(arm.filter((r) => r.operation === 'snapshots.grantAccess' && r.phase === 'initial')).toHaveLength(3);
  expect(arm.filter((r) => r.operation === 'snapshots.revokeAccess' && r.phase === 'initial')).toHaveLength(3);

  const reader = await source.openReader(s2.id);
  const got = Buffer.alloc(MiB);
  await reader.readInto({ start: 900 * MiB, end: 901 * MiB }, got, 0);
  expect(got.equals(pattern(4 * MiB, 4).subarray(0, MiB))).toBe(true);
  expect(server.activeGrants().map((g) => g.resourceId)).toEqual([s2.id]);
  await reader.close();
  await reader.close();
});

test('windows are counted: a 1 GiB disk in 64 MiB windows is 17 requests (1 GiB + footer)', async () => {
  const { queryWindowed } = await import('../../src/disks/managedDiskRanges');
  const windows: number[] = [];
  const result = await queryWindowed(GiB + 512, async (offset, count) => ({ ranges: [{ start: offset, end: offset + count }], cleared: [], truncated: false }), {
    windowBytes: 64 * MiB,
    onWindow: (o) => windows.push(o),
  });
  expect(windows).toHaveLength(17);
  expect(result.ranges).toEqual([{ start: 0, end: GiB + 512 }]);
  // A truncated answer is asked again in halves.
  const asked: Array<[number, number]> = [];
  await queryWindowed(8 * MiB, async (offset, count) => ({ ranges: [], cleared: [], truncated: count > 2 * MiB }), {
    windowBytes: 8 * MiB,
    minWindowBytes: MiB,
    onWindow: (o, c) => asked.push([o, c]),
  });
  expect(asked.filter(([, c]) => c === 2 * MiB)).toHaveLength(4);
});

test('paged listings come window by window in offset order, hold the grant only while read, and revoke when the reader stops early', async () => {
  const diskId = await emptyManagedDisk(server, RG, 'paged', 1);
  const source = managedSource(server, diskId, { rangeWindowBytes: 64 * MiB });
  const data = server.dataOf(diskId);
  await data.uploadPages(pattern(MiB, 1), 0, MiB);
  await data.uploadPages(pattern(2 * MiB, 2), 127 * MiB, 2 * MiB); // spans a window boundary
  await data.uploadPages(pattern(MiB, 3), 900 * MiB, MiB);
  const snap = await source.createSnapshot('p-1');

  const pages: { start: number; end: number }[][] = [];
  for await (const page of source.allocatedRangePages(snap.id)) {
    pages.push(page);
    expect(server.activeGrants().map((g) => g.resourceId)).toEqual([snap.id]);
  }
  // 1 GiB + footer in 64 MiB windows: 17 pages, each its window's ranges, in order.
  expect(pages).toHaveLength(17);
  expect(pages.flat()).toEqual([
    { start: 0, end: MiB },
    { start: 127 * MiB, end: 128 * MiB },
    { start: 128 * MiB, end: 129 * MiB },
    { start: 900 * MiB, end: 901 * MiB },
  ]);
  expect(server.activeGrants()).toEqual([]);

  const next = await source.createSnapshot('p-2');
  const early = source.changedRangePages(snap.id, next.id)[Symbol.asyncIterator]();
  expect((await early.next()).done).toBe(false);
  expect(server.activeGrants().map((g) => g.resourceId).sort()).toEqual([snap.id, next.id].sort());
  await early.return?.();
  expect(server.activeGrants()).toEqual([]);
});

test('windowed pages keep at most four windows in flight and yield each as soon as those before it are in', async () => {
  const { queryWindowedPages } = await import('../../src/disks/managedDiskRanges');
  let inFlight = 0;
  let most = 0;
  const pages = queryWindowedPages(
    16 * MiB,
    async (offset, count) => {
      inFlight++;
      most = Math.max(most, inFlight);
      // Later windows answer first: the order of the pages must not follow.
      await new Promise((resolve) => setTimeout(resolve, 20 - offset / MiB));
      inFlight--;
      return { ranges: [{ start: offset, end: offset + count }], cleared: [], truncated: false };
    },
    { windowBytes: MiB },
  );
  const starts: number[] = [];
  for await (const page of pages) starts.push(...page.ranges.map((r) => r.start / MiB));
  expect(starts).toEqual(Array.from({ length: 16 }, (_, i) => i));
  expect(most).toBe(4);
});

test('concurrent listings and a diff of the same snapshots share grants: at most 2 snapshots have access, all revoked', async () => {
  const diskId = await emptyManagedDisk(server, RG, 'shared', 1);
  const source = managedSource(server, diskId);
  await server.dataOf(diskId).uploadPages(pattern(MiB, 5), 0, MiB);
  const s1 = await source.createSnapshot('c-1');
  const s2 = await source.createSnapshot('c-2');
  const s3 = await source.createSnapshot('c-3');
  let maxActive = 0;
  const timer = setInterval(() => (maxActive = Math.max(maxActive, new Set(server.activeGrants().map((g) => g.resourceId)).size)), 2);
  try {
    const results = await Promise.all([
      collectRanges(source.allocatedRangePages(s2.id)),
      collectRanges(source.allocatedRangePages(s1.id)),
      collectDiff(source.changedRangePages(s1.id, s2.id)),
      collectDiff(source.changedRangePages(s2.id, s3.id)),
      collectRanges(source.allocatedRangePages(s3.id)),
      source.diffFidelity(),
    ]);
    expect(results[0]).toEqual([{ start: 0, end: MiB }]);
  } finally {
    clearInterval(timer);
  }
  expect(maxActive).toBeLessThanOrEqual(2);
});

test('a source on a disk that does not exist fails with NOT_FOUND, and bad ids with INVALID_ARGUMENT', async () => {
  const missing = `/subscriptions/${server.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/nope`;
  const e = await managedSource(server, missing).createSnapshot('j').catch((x: unknown) => x);
  captured.push(String(e), (e as DeltavaultError).toJSON());
  expect(e).toMatchObject({ code: 'NOT_FOUND' });
  expect(() => new ManagedDiskSource({ access: { credential: server.credential, endpoint: server.endpoint }, diskId: 'disk1' })).toThrow(DeltavaultError);
});
