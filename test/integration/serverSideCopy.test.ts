/**
 * Where the vault service offers Put Page From URL (Azure), a backup's writes are fetched by the
 * service straight from the source snapshot and the Function uploads nothing; where it does not
 * (Azurite answers 501), or cannot read the source, the same bytes are uploaded instead. Either
 * way every recovery point restores to exactly its source snapshot, and a restore's writes take
 * the same path from the vault snapshot. The service side is
 * test/support/serverCopyProxy.ts: Put Page From URL implemented over the real Azurite.
 */
import { BlobServiceClient, ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { vaultPaths } from '../../src/vault/vaultLayout';
import { runBackup, BackupOutcome } from '../../src/backup/runBackup';
import { listRecoveryPoints } from '../../src/catalog/recoveryPoints';
import { restoreToPageBlob } from '../../src/restore/restoreToPageBlob';
import { PageWriter, resetServerCopySupport } from '../../src/util/pageWriter';
import { blobCopySource } from '../../src/util/copySources';
import { writePattern } from '../support/diskData';
import { readWhole } from '../support/storage';
import { findSecrets } from '../support/secretScan';
import { ServerCopyProxy, startServerCopyProxy } from '../support/serverCopyProxy';

const MiB = 1024 * 1024;
const DISK_BYTES = 24 * MiB;

let proxy: ServerCopyProxy;
beforeAll(async () => {
  proxy = await startServerCopyProxy(process.env.DELTAVAULT_TEST_STORAGE!);
});
afterAll(() => proxy.close());
beforeEach(() => {
  proxy.mode = 'copy';
  proxy.served.length = 0;
  proxy.refused = 0;
  resetServerCopySupport();
});

async function proxiedContainer(): Promise<ContainerClient> {
  const container = BlobServiceClient.fromConnectionString(proxy.connectionString).getContainerClient(`srvcopy-${randomBytes(4).toString('hex')}`);
  await container.create();
  return container;
}

/** A full and an incremental backup of a disk with scattered writes and a clear in between. */
async function twoBackups(container: ContainerClient): Promise<{ disk: PageBlobClient; outcomes: BackupOutcome[]; expected: Map<string, Buffer> }> {
  const disk = container.getPageBlobClient('source/os.vhd');
  await disk.create(DISK_BYTES);
  await writePattern(disk, 0, 3 * MiB, (at) => `a@${at}`);
  await writePattern(disk, 9 * MiB + 512 * 1024, 5 * MiB, (at) => `b@${at}`);
  const source = new PageBlobSource(container, disk);
  const vault = new VaultDisk(container, 'os');
  const outcomes: BackupOutcome[] = [];
  const expected = new Map<string, Buffer>();
  for (const jobId of ['job-1', 'job-2']) {
    if (jobId === 'job-2') {
      await writePattern(disk, 64 * 1024, 256 * 1024, (at) => `c@${at}`);
      await writePattern(disk, 20 * MiB, 2 * MiB, (at) => `d@${at}`);
      await disk.clearPages(10 * MiB, MiB);
    }
    const outcome = await runBackup(source, vault, jobId);
    outcomes.push(outcome);
    const snapshot = await source.findSnapshot(jobId);
    expected.set(outcome.recoveryPoint.id, await readWhole(disk.withSnapshot(snapshot!.id)));
  }
  return { disk, outcomes, expected };
}

/** The two backups with the proxy in `mode`: every write of both is uploaded by the client. */
async function backupsThatUpload(mode: ServerCopyProxy['mode']): Promise<{ container: ContainerClient; outcomes: BackupOutcome[]; expected: Map<string, Buffer> }> {
  proxy.mode = mode;
  const container = await proxiedContainer();
  const { outcomes, expected } = await twoBackups(container);
  for (const { totals } of outcomes) {
    expect(totals.putPageFromUrlCalls).toBe(0);
    expect(totals.putPageCalls).toBeGreaterThan(0);
  }
  return { container, outcomes, expected };
}

/** Every recovery point of the vault, restored into a new blob, equals its source snapshot. */
async function expectRestoresEqual(container: ContainerClient, expected: Map<string, Buffer>): Promise<void> {
  const points = await listRecoveryPoints(new VaultDisk(container, 'os'));
  expect(points.map((p) => p.id).sort()).toEqual([...expected.keys()].sort());
  for (const point of points) {
    const target = container.getPageBlobClient(`restores/${point.id}.vhd`);
    await restoreToPageBlob(container, point.id, target, `restore-${point.id}`);
    expect((await readWhole(target)).equals(expected.get(point.id)!)).toBe(true);
  }
}

test('on a service with Put Page From URL, backups and restores have the service fetch every write itself', async () => {
  const container = await proxiedContainer();
  const { outcomes, expected } = await twoBackups(container);
  for (const { totals } of outcomes) {
    expect(totals.putPageFromUrlCalls).toBeGreaterThan(0);
    expect(totals.putPageCalls).toBe(0);
  }
  const calls = outcomes.reduce((n, o) => n + o.totals.putPageFromUrlCalls, 0);
  expect(proxy.served).toHaveLength(calls);
  expect(proxy.refused).toBe(0);
  for (const copy of proxy.served) {
    // Into the vault base, from the source disk's snapshot, at the same offsets, authorized by a SAS.
    expect(copy.target).toBe(`/${container.accountName}/${container.containerName}/${vaultPaths.base('os')}`);
    expect(copy.source).toMatch(new RegExp(`/${container.containerName}/source/os\\.vhd$`));
    expect(copy.authorization).toBe('sas');
    expect(copy.range).toEqual(copy.sourceRange);
    expect(copy.range[1] - copy.range[0] + 1).toBeLessThanOrEqual(4 * MiB);
  }
  // A restore's checked blocks are fetched by the target's service from the vault snapshot.
  const backupCopies = proxy.served.length;
  await expectRestoresEqual(container, expected);
  const restoreCopies = proxy.served.slice(backupCopies);
  expect(restoreCopies.length).toBeGreaterThan(0);
  for (const copy of restoreCopies) {
    expect(copy.target).toMatch(new RegExp(`^/${container.accountName}/${container.containerName}/restores/`));
    expect(copy.source).toBe(`${container.url}/${vaultPaths.base('os')}`);
    expect(copy.range).toEqual(copy.sourceRange);
  }
  // The SAS handed to the service is in no document the backup wrote.
  for await (const blob of container.listBlobsFlat()) {
    if (!blob.name.endsWith('.json')) continue;
    const text = (await container.getBlobClient(blob.name).downloadToBuffer()).toString('utf8');
    expect(findSecrets(text)).toEqual([]);
  }
});

test('where the service answers 501 (Azurite), the same bytes are uploaded and it is not asked again', async () => {
  const { container, expected } = await backupsThatUpload('notImplemented');
  // One write asked first while the others waited; after its 501 nobody asked again.
  expect(proxy.refused).toBe(1);
  expect(proxy.served).toHaveLength(0);
  const refusedByBackups = proxy.refused;
  await expectRestoresEqual(container, expected);
  expect(proxy.refused).toBe(refusedByBackups);
  expect(proxy.served).toHaveLength(0);
});

test('where the service cannot read the source, the writes are uploaded instead', async () => {
  const { container, outcomes, expected } = await backupsThatUpload('sourceUnreachable');
  // One refusal per writer (a chunk, a restore): each asks once, then uploads.
  expect(proxy.refused).toBe(outcomes.reduce((n, o) => n + o.plan.chunks.length, 0));
  await expectRestoresEqual(container, expected);
});

test('a failure about the target is thrown by the upload it falls back to, not hidden', async () => {
  const container = await proxiedContainer();
  const source = container.getPageBlobClient('source/src.vhd');
  await source.create(MiB);
  await writePattern(source, 0, MiB, (at) => `s@${at}`);
  const target = container.getPageBlobClient('source/leased.vhd');
  await target.create(MiB);
  await target.getBlobLeaseClient().acquireLease(-1);
  const writer = new PageWriter(target, { copySource: blobCopySource(source), leaseId: '00000000-0000-4000-8000-000000000000' });
  const bytes = await source.downloadToBuffer(0, 4096);
  await expect(writer.write({ start: 0, end: 4096 }, bytes)).rejects.toMatchObject({ statusCode: 412 });
  expect(writer.fallbackReason).toMatch(/^LeaseIdMismatch/);
  expect((await target.downloadToBuffer(0, 4096)).equals(Buffer.alloc(4096))).toBe(true);
});
