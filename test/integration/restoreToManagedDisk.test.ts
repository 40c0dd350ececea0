/**
 * Restore to a new managed disk through the real @azure/arm-compute client against the ARM
 * test server, from recovery points the engine made of page blobs on Azurite: the disk reads
 * back byte-for-byte (plus its footer), a retried restore resumes or finishes its own disk and
 * never touches anyone else's, ARM faults are retried or end clearly, corrupt vault data never
 * becomes a finished disk, every grant is revoked, and nothing returned or thrown holds a secret.
 */
import type { ComputeManagementClient } from '@azure/arm-compute';
import { AnonymousCredential, PageBlobClient, type ContainerClient } from '@azure/storage-blob';
import type { ArmAccess } from '../../src/azure/armAccess';
import { runBackup } from '../../src/backup/runBackup';
import { readRecoveryPoint } from '../../src/catalog/recoveryPoints';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { DeltavaultError } from '../../src/errors';
import {
  discardManagedDiskRestore,
  restoreToManagedDisk,
  type ManagedDiskRestoreResult,
} from '../../src/restore/restoreToManagedDisk';
import { RESTORE_STATE_TAG, RESTORE_TAG, type ManagedDiskTarget } from '../../src/restore/managedDiskTarget';
import { buildFixedVhdFooter, isValidFixedFooter, parseVhdFooter } from '../../src/restore/vhdFooter';
import { writeJson } from '../../src/vault/jsonBlob';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { RECOVERY_POINT_METADATA_KEY, vaultPaths } from '../../src/vault/vaultLayout';
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { pattern, writePattern } from '../support/diskData';
import { findSecrets, scanText } from '../support/secretScan';
import { freshContainer, readWhole } from '../support/storage';
import { armAccessFor, readManagedDisk } from '../support/managedDisks';
import { DiskAccessBlob } from '../../src/restore/diskAccessBlob';
import { EMULATOR_KEY } from '../../src/devhost/azuriteLauncher';

const MiB = 1024 * 1024;
const PAGE = 512;
const RG = 'rg-restore';
/** Not whole MiB: the restored disk is 20 MiB (Azure's smallest upload) plus a generated footer. */
const RAW_BYTES = 9 * MiB + 3 * PAGE;

let server: ArmTestServer;
let client: ComputeManagementClient;
let access: ArmAccess;
/** Everything a test got back or caught, scanned for secrets at the end. */
const seen: unknown[] = [];

interface Point {
  id: string;
  content: Buffer;
}
interface Chain {
  container: ContainerClient;
  points: Point[];
}
let raw: Chain;

beforeAll(async () => {
  server = await startArmServer();
  client = server.client();
  access = armAccessFor(server);
  raw = await rawChain();
}, 120_000);
afterEach(() => {
  expect(server.activeGrants()).toEqual([]);
  server.faults.clear();
});
afterAll(async () => {
  await raw.container.delete();
  await server.close();
});

const target = (name: string, extra: Partial<ManagedDiskTarget> = {}): ManagedDiskTarget => ({
  subscriptionId: server.subscriptionId,
  resourceGroup: RG,
  name,
  location: 'westeurope',
  ...extra,
});

async function restore(container: ContainerClient, rpId: string, name: string, restoreId: string, extra: { onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void } = {}): Promise<ManagedDiskRestoreResult> {
  const result = await restoreToManagedDisk({
    access,
    vaultContainer: container,
    recoveryPointId: rpId,
    target: target(name),
    restoreId,
    concurrency: 3,
    updateIntervalInMs: 10,
    ...extra,
  });
  seen.push(result);
  return result;
}

async function failure(p: Promise<unknown>): Promise<DeltavaultError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  seen.push(e);
  expect(e).toBeInstanceOf(DeltavaultError);
  return e as DeltavaultError;
}

/** The whole disk as a VM would see it (a Read grant, revoked after). */
const readDisk = (name: string): Promise<Buffer> => readManagedDisk(server, RG, name);

async function diskOrUndefined(name: string) {
  return client.disks.get(RG, name).catch((e: { statusCode?: number }) => {
    if (e.statusCode === 404) return undefined;
    throw e;
  });
}

/** A raw (footerless) page-blob disk and two backups: a full one, then writes, an overwrite and clears. */
async function rawChain(): Promise<Chain> {
  const container = await freshContainer('mdrestore');
  const disk = container.getPageBlobClient('vm/data.vhd');
  await disk.create(RAW_BYTES);
  const source = new PageBlobSource(container, disk);
  const vault = new VaultDisk(container, 'raw-disk');
  const points: Point[] = [];
  await writePattern(disk, 0, 512 * 1024, (at) => `a${at}`);
  await writePattern(disk, 3 * MiB + 4096, 2 * MiB, (at) => `b${at}`);
  await writePattern(disk, RAW_BYTES - 2 * PAGE, 2 * PAGE, () => 'tail');
  for (const jobId of ['job-1', 'job-2']) {
    if (jobId === 'job-2') {
      await writePattern(disk, 6 * MiB, MiB, () => 'c'); // new data
      await writePattern(disk, 100 * 1024, 64 * 1024, () => 'a2'); // overwrite
      await disk.clearPages(4 * MiB, 256 * 1024); // clear inside the old data
      await disk.clearPages(RAW_BYTES - 2 * PAGE, PAGE); // and at the very end
    }
    const { recoveryPoint } = await runBackup(source, vault, jobId);
    const snapshot = await source.findSnapshot(jobId);
    points.push({ id: recoveryPoint.id, content: await readWhole(disk.withSnapshot(snapshot!.id)) });
  }
  expect((await readRecoveryPoint(container, points[1]!.id)).mode).toBe('incremental');
  return { container, points };
}

/** The disk is the point's bytes, zeros up to the footer, and a valid fixed footer for its size. */
function expectRestoredRaw(bytes: Buffer, point: Point, diskBytes: number): void {
  expect(bytes.length).toBe(diskBytes + PAGE);
  const data = bytes.subarray(0, point.content.length);
  if (!data.equals(point.content)) throw new Error(`restored disk differs from the source at byte ${data.findIndex((b, i) => b !== point.content[i])}`);
  expect(bytes.subarray(point.content.length, diskBytes).every((b) => b === 0)).toBe(true);
  const footer = bytes.subarray(diskBytes);
  expect(isValidFixedFooter(footer, diskBytes)).toBe(true);
  expect(parseVhdFooter(footer)).toMatchObject({ currentSize: diskBytes, originalSize: diskBytes, diskType: 2 });
}

describe('restore to a new managed disk', () => {
  test('every point of a chain (full, then incremental with writes and clears) reads back byte-for-byte, plus its footer', async () => {
    for (const [i, point] of raw.points.entries()) {
      const name = `raw-${i}`;
      const result = await restore(raw.container, point.id, name, `restore-raw-${i}`);
      const diskId = `/subscriptions/${server.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/${name}`;
      expect(result).toMatchObject({ recoveryPointId: point.id, diskId, sizeBytes: RAW_BYTES, uploadSizeBytes: 20 * MiB + PAGE, footer: 'generated', alreadyRestored: false });
      expect(result.blocksChecked).toBeGreaterThan(0);
      const disk = await client.disks.get(RG, name);
      expect(disk).toMatchObject({ diskState: 'Unattached', creationData: { createOption: 'Upload', uploadSizeBytes: 20 * MiB + PAGE } });
      expect(disk.tags).toMatchObject({ [RESTORE_TAG]: `restore-raw-${i}`, [RESTORE_STATE_TAG]: 'verified' });
      expectRestoredRaw(await readDisk(name), point, 20 * MiB);
      // One slice: a Write grant to write it and one to write the footer, ended by one revoke; a
      // Read grant to check the slice and one to check the end; all revoked by the restore itself.
      const grants = server.records.grants().filter((g) => g.resourceId === diskId);
      expect(grants.map((g) => [g.access, g.endReason])).toEqual([
        ['Write', 'revoked'],
        ['Write', 'revoked'],
        ['Read', 'revoked'],
        ['Read', 'revoked'],
        ['Read', 'revoked'], // the test's own read
      ]);
      expect(grants[0]!.endedAt).toEqual(grants[1]!.endedAt);
      expect(grants[0]!.durationInSeconds).toBeLessThanOrEqual(600);
    }
    // The two points differ where the incremental wrote and cleared, and each disk has its own.
    expect(raw.points[0]!.content.equals(raw.points[1]!.content)).toBe(false);
  });

  test('a page blob that is a fixed VHD for Azure is uploaded as it is: the disk equals it whole, footer included', async () => {
    const container = await freshContainer('mdrestore-vhd');
    const size = 24 * MiB + PAGE;
    const disk = container.getPageBlobClient('vm/os.vhd');
    await disk.create(size);
    await writePattern(disk, MiB, 3 * MiB, (at) => `os${at}`);
    await writePattern(disk, 20 * MiB, 512 * 1024, () => 'late');
    const footer = buildFixedVhdFooter({ currentSize: 24 * MiB, uniqueId: pattern('uid', 16), createdAt: new Date('2024-01-01T00:00:00Z') });
    await disk.uploadPages(footer, 24 * MiB, PAGE);
    const { recoveryPoint } = await runBackup(new PageBlobSource(container, disk), new VaultDisk(container, 'vhd-disk'), 'job-vhd');

    const result = await restore(container, recoveryPoint.id, 'vhd-0', 'restore-vhd');
    expect(result).toMatchObject({ sizeBytes: size, uploadSizeBytes: size, footer: 'kept' });
    const restored = await readDisk('vhd-0');
    expect(restored.equals(await readWhole(disk))).toBe(true);
    expect(restored.subarray(24 * MiB).equals(footer)).toBe(true);
    await container.delete();
  });
});

describe('retry safety', () => {
  test('killed mid-write, then run again with the same restore id: completes byte-equal; once more: already done', async () => {
    const point = raw.points[1]!;
    let calls = 0;
    const killed = await restore(raw.container, point.id, 'retry-1', 'restore-retry-1', {
      onProgress: () => {
        if (++calls === 1) throw new Error('activity killed');
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    seen.push(killed);
    expect(killed).toMatchObject({ message: 'activity killed' });
    // Write access was revoked anyway; the half-written disk is marked as not restored.
    const half = await client.disks.get(RG, 'retry-1');
    expect(half.tags).toMatchObject({ [RESTORE_TAG]: 'restore-retry-1', [RESTORE_STATE_TAG]: 'incomplete' });
    expect(server.activeGrants()).toEqual([]);

    const result = await restore(raw.container, point.id, 'retry-1', 'restore-retry-1');
    expect(result.alreadyRestored).toBe(false);
    expectRestoredRaw(await readDisk('retry-1'), point, 20 * MiB);

    const again = await restore(raw.container, point.id, 'retry-1', 'restore-retry-1');
    expect(again).toMatchObject({ alreadyRestored: true, bytesWritten: 0, diskId: result.diskId });
    expectRestoredRaw(await readDisk('retry-1'), point, 20 * MiB);
  });

  test('an attempt that died holding Write access (no revoke): the retry resumes the same upload disk', async () => {
    const point = raw.points[0]!;
    // What the dead attempt left: its disk, created as the restore creates it, Write access still
    // granted, and part of the data written.
    const created = await client.disks.beginCreateOrUpdateAndWait(
      RG,
      'resume-1',
      {
        location: 'westeurope',
        tags: { [RESTORE_TAG]: 'restore-resume-1', 'deltavault-recovery-point': point.id, [RESTORE_STATE_TAG]: 'incomplete' },
        creationData: { createOption: 'Upload', uploadSizeBytes: 20 * MiB + PAGE },
      },
      server.fastPolling,
    );
    const grant = await client.disks.beginGrantAccessAndWait(RG, 'resume-1', { access: 'Write', durationInSeconds: 600 }, server.fastPolling);
    await new PageBlobClient(grant.accessSAS!, new AnonymousCredential()).uploadPages(point.content.subarray(0, MiB), 0, MiB);
    expect(server.activeGrants()).toHaveLength(1);

    const result = await restore(raw.container, point.id, 'resume-1', 'restore-resume-1');
    expect(result).toMatchObject({ diskId: created.id, alreadyRestored: false });
    expect((await client.disks.get(RG, 'resume-1')).uniqueId).toBe(created.uniqueId); // the same disk, not a new one
    expectRestoredRaw(await readDisk('resume-1'), point, 20 * MiB);
  });

  test("another restore's disk, or anyone's, of that name: ALREADY_EXISTS and nothing touched; discard leaves it", async () => {
    const point = raw.points[0]!;
    await restore(raw.container, point.id, 'taken-1', 'restore-owner');
    const before = await client.disks.get(RG, 'taken-1');
    const mark = server.records.requests().length;
    const e = await failure(restore(raw.container, point.id, 'taken-1', 'restore-intruder'));
    expect(e.code).toBe('ALREADY_EXISTS');
    expect(e.message).toContain(before.id);
    // Only reads of the disk: no PUT, PATCH, POST or DELETE.
    expect(server.records.requests().slice(mark).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(await discardManagedDiskRestore({ access, target: target('taken-1'), restoreId: 'restore-intruder', updateIntervalInMs: 10 })).toEqual({ deleted: false });
    expect(await client.disks.get(RG, 'taken-1')).toMatchObject({ uniqueId: before.uniqueId, tags: before.tags, diskState: 'Unattached' });

    // A disk nobody restored (no tags at all).
    await client.disks.beginCreateOrUpdateAndWait(RG, 'foreign-1', { location: 'westeurope', diskSizeGB: 1, creationData: { createOption: 'Empty' } }, server.fastPolling);
    const mark2 = server.records.requests().length;
    expect((await failure(restore(raw.container, point.id, 'foreign-1', 'restore-x'))).code).toBe('ALREADY_EXISTS');
    expect(server.records.requests().slice(mark2).filter((r) => r.method !== 'GET')).toEqual([]);
    expect(await discardManagedDiskRestore({ access, target: target('foreign-1'), restoreId: 'restore-x', updateIntervalInMs: 10 })).toEqual({ deleted: false });
    expect(await diskOrUndefined('foreign-1')).toBeDefined();
    // The same restore id for another recovery point is not this restore either.
    expect((await failure(restore(raw.container, raw.points[1]!.id, 'taken-1', 'restore-owner'))).code).toBe('ALREADY_EXISTS');
  });
});

describe('faults from Resource Manager', () => {
  test('500s during grant access and 429 with Retry-After are retried; the restore completes', async () => {
    server.faults.add({ kind: 'serverError', operation: 'disks.grantAccess', times: 1 });
    server.faults.add({ kind: 'serverError', operation: 'disks.grantAccess', phase: 'poll', times: 2 });
    server.faults.add({ kind: 'throttle', operation: 'disks.createOrUpdate', retryAfterSeconds: 1 });
    server.faults.add({ kind: 'throttle', operation: 'disks.revokeAccess', retryAfterSeconds: 1 });
    const started = Date.now();
    const result = await restore(raw.container, raw.points[1]!.id, 'faults-1', 'restore-faults-1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900); // both Retry-After waits were honoured
    expect(server.faults.list().map((f) => f.hits)).toEqual([1, 2, 1, 1]);
    expectRestoredRaw(await readDisk('faults-1'), raw.points[1]!, 20 * MiB);
    expect(result.alreadyRestored).toBe(false);
  });

  test('a create that ends Failed is tried again; one that keeps failing ends clearly and discard removes it', async () => {
    server.faults.add({ kind: 'lroFailed', operation: 'disks.createOrUpdate', code: 'InternalExecutionError' });
    await restore(raw.container, raw.points[0]!.id, 'lro-1', 'restore-lro-1');
    expectRestoredRaw(await readDisk('lro-1'), raw.points[0]!, 20 * MiB);

    server.faults.add({ kind: 'lroFailed', operation: 'disks.createOrUpdate', code: 'InternalExecutionError', times: 10 });
    const e = await failure(restore(raw.container, raw.points[0]!.id, 'lro-2', 'restore-lro-2'));
    expect(e.code).toBe('STORAGE_FAILED'); // transient: the activity's retry may still succeed
    expect(e.message).toMatch(/^creating managed disk '\/subscriptions\/.*\/disks\/lro-2' failed: the operation ended Failed: InternalExecutionError/);
    expect(server.faults.list()[1]!.hits).toBe(3);
    server.faults.clear();
    expect((await client.disks.get(RG, 'lro-2')).provisioningState).toBe('Failed');
    expect(await discardManagedDiskRestore({ access, target: target('lro-2'), restoreId: 'restore-lro-2', updateIntervalInMs: 10 })).toEqual({ deleted: true });
    expect(await diskOrUndefined('lro-2')).toBeUndefined();

    // A failure about the request itself is not tried again.
    server.faults.add({ kind: 'lroFailed', operation: 'disks.createOrUpdate', code: 'QuotaExceeded', times: 10 });
    const quota = await failure(restore(raw.container, raw.points[0]!.id, 'lro-3', 'restore-lro-3'));
    expect(quota.message).toContain('QuotaExceeded');
    expect(server.faults.list()[0]!.hits).toBe(1);
  });

  test('a Write grant that keeps failing ends the restore, and nothing stays granted', async () => {
    server.faults.add({ kind: 'lroFailed', operation: 'disks.grantAccess', code: 'InternalExecutionError', times: 10 });
    const e = await failure(restore(raw.container, raw.points[0]!.id, 'grant-1', 'restore-grant-1'));
    expect(e.code).toBe('STORAGE_FAILED');
    expect(e.message).toContain("granting Write access to managed disk '/subscriptions/");
    server.faults.clear();
    expect(server.activeGrants()).toEqual([]);
    // The activity's retry then finishes the job on the same disk.
    await restore(raw.container, raw.points[0]!.id, 'grant-1', 'restore-grant-1');
    expectRestoredRaw(await readDisk('grant-1'), raw.points[0]!, 20 * MiB);
  });
});

/**
 * Changes the vault data of `rpId` behind its manifest's back (as test/integration/verifyCorruption
 * does): `damage` runs on the base blob, which is snapshotted, and the manifest is pointed at it.
 */
async function corrupt(container: ContainerClient, rpId: string, damage: (base: PageBlobClient) => Promise<void>): Promise<void> {
  const manifest = await readRecoveryPoint(container, rpId);
  const base = container.getPageBlobClient(manifest.vault.baseBlob);
  if ((await base.getProperties()).leaseState === 'leased') await base.getBlobLeaseClient().breakLease(0);
  await damage(base);
  const { snapshot } = await base.createSnapshot();
  await writeJson(container, vaultPaths.manifest(manifest.diskKey, rpId), { ...manifest, vault: { ...manifest.vault, snapshot } }, 'overwrite', {
    [RECOVERY_POINT_METADATA_KEY]: rpId,
  });
}

async function flip(blob: PageBlobClient, offset: number): Promise<void> {
  const page = await blob.downloadToBuffer(offset, PAGE);
  for (let i = 100; i < 116; i++) page[i] = page[i]! ^ 0xff;
  await blob.uploadPages(page, offset, PAGE);
}

describe('integrity', () => {
  test('a corrupted vault block: INTEGRITY_FAILED, the disk is never marked restored, discard removes it', async () => {
    const container = await freshContainer('mdrestore-bad');
    const disk = container.getPageBlobClient('vm/bad.vhd');
    await disk.create(RAW_BYTES);
    await writePattern(disk, 0, 6 * MiB, (at) => `bad${at}`);
    const { recoveryPoint } = await runBackup(new PageBlobSource(container, disk), new VaultDisk(container, 'bad-disk'), 'job-bad');
    await corrupt(container, recoveryPoint.id, (base) => flip(base, 2 * MiB + 8192));

    const e = await failure(restore(container, recoveryPoint.id, 'bad-1', 'restore-bad-1'));
    expect(e.code).toBe('INTEGRITY_FAILED');
    expect(e.details?.badBlocks).toEqual([2]);
    expect(e.message).toContain(recoveryPoint.id);
    const left = await client.disks.get(RG, 'bad-1');
    expect(left.tags?.[RESTORE_STATE_TAG]).toBe('incomplete');
    // The bad block never landed: the disk holds zeros there.
    const bytes = await readDisk('bad-1');
    expect(bytes.subarray(2 * MiB, 3 * MiB).every((b) => b === 0)).toBe(true);
    expect(await discardManagedDiskRestore({ access, target: target('bad-1'), restoreId: 'restore-bad-1', updateIntervalInMs: 10 })).toEqual({ deleted: true });
    expect(await diskOrUndefined('bad-1')).toBeUndefined();
    await container.delete();
  });

  test('a corrupted last block (which decides the upload size) fails before any disk is created', async () => {
    const container = await freshContainer('mdrestore-tail');
    const disk = container.getPageBlobClient('vm/tail.vhd');
    await disk.create(RAW_BYTES);
    await writePattern(disk, RAW_BYTES - MiB, MiB, (at) => `t${at}`);
    const { recoveryPoint } = await runBackup(new PageBlobSource(container, disk), new VaultDisk(container, 'tail-disk'), 'job-tail');
    await corrupt(container, recoveryPoint.id, (base) => flip(base, RAW_BYTES - PAGE));
    const mark = server.records.requests().length;
    const e = await failure(restore(container, recoveryPoint.id, 'tail-1', 'restore-tail-1'));
    expect(e).toMatchObject({ code: 'INTEGRITY_FAILED', details: { badBlocks: [9] } });
    expect(server.records.requests().slice(mark)).toEqual([]);
    expect(await diskOrUndefined('tail-1')).toBeUndefined();
    await container.delete();
  });

  test('a disk that does not read back right (changed behind the upload) is INTEGRITY_FAILED, not marked restored', async () => {
    const point = raw.points[1]!;
    const diskId = `/subscriptions/${server.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/readback-1`;
    let tampered = false;
    const e = await failure(
      restore(raw.container, point.id, 'readback-1', 'restore-readback-1', {
        onProgress: (p) => {
          if (p.bytesDone !== p.bytesTotal || tampered) return;
          tampered = true;
          // Storage changes the disk after the last write (before the read-back): in the data and past its end.
          void server.dataOf(diskId).uploadPages(pattern('stray', PAGE), 5 * MiB, PAGE);
          void server.dataOf(diskId).uploadPages(pattern('stray2', PAGE), 15 * MiB, PAGE);
        },
      }),
    );
    expect(tampered).toBe(true);
    expect(e.code).toBe('INTEGRITY_FAILED');
    expect(e.message).toContain(diskId);
    expect(e.message).toContain("bytes past the recovery point's end");
    expect(e.details?.badBlocks).toEqual([5]);
    expect((await client.disks.get(RG, 'readback-1')).tags?.[RESTORE_STATE_TAG]).toBe('incomplete');
    expect(await discardManagedDiskRestore({ access, target: target('readback-1'), restoreId: 'restore-readback-1', updateIntervalInMs: 10 })).toEqual({ deleted: true });
  });

  test('bad targets are refused before anything is asked of Azure', async () => {
    const mark = server.records.requests().length;
    for (const name of ['', '-x', 'a/b', 'x'.repeat(81), 'ends.']) {
      expect((await failure(restore(raw.container, raw.points[0]!.id, name, 'restore-bad-name'))).code).toBe('INVALID_ARGUMENT');
    }
    expect(server.records.requests().slice(mark)).toEqual([]);
  });
});

describe('secrets', () => {
  test('storage refusing an access URL: the error names the disk and the operation, never the URL', async () => {
    await client.disks.beginCreateOrUpdateAndWait(
      RG,
      'sas-1',
      { location: 'westeurope', creationData: { createOption: 'Upload', uploadSizeBytes: 20 * MiB + PAGE } },
      server.fastPolling,
    );
    const grant = await client.disks.beginGrantAccessAndWait(RG, 'sas-1', { access: 'Write', durationInSeconds: 60 }, server.fastPolling);
    expect(findSecrets(grant.accessSAS!)).not.toEqual([]); // the scan below would see one
    await client.disks.beginRevokeAccessAndWait(RG, 'sas-1', server.fastPolling);
    const blob = new DiskAccessBlob(grant.accessSAS!, '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/sas-1');
    seen.push(blob);
    for (const call of [() => blob.write(Buffer.alloc(PAGE), 0), () => blob.sizeBytes(), () => blob.allocated(0, MiB), () => blob.readInto({ start: 0, end: PAGE }, Buffer.alloc(PAGE), 0)]) {
      const e = await failure(call());
      expect(e.code).toBe('STORAGE_FAILED');
      expect(e.message).toMatch(/ managed disk '\/subscriptions\/s\/resourceGroups\/rg\/providers\/Microsoft.Compute\/disks\/sas-1' through its access URL failed: \w+ \(HTTP 403\)$/);
      expect(e.cause).toBeUndefined();
    }
  });

  test('nothing any test here got back or caught holds a SAS signature or an account key', () => {
    const text = scanText(seen);
    expect(seen.length).toBeGreaterThan(20);
    expect(findSecrets(text, [EMULATOR_KEY, server.storageAccountKey])).toEqual([]);
  });
});
