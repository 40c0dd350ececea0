/**
 * A restore to a new managed disk run step by step, as the restore orchestration runs it (one
 * activity per step), with slices of 8 MiB so a small disk has several: the disk ends byte-equal
 * to the point plus a valid footer; one upload stays ActiveUpload across the write slices (each
 * grants Write again, none revokes) and ends Unattached only with the finishing step; a slice
 * that fails midway and is retried still ends byte-equal; a restore given up between slices is
 * discarded with nothing left granted; and no step returns a secret.
 */
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { ContainerClient } from '@azure/storage-blob';
import type { ArmAccess } from '../../src/azure/armAccess';
import { runBackup } from '../../src/backup/runBackup';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { EMULATOR_KEY } from '../../src/devhost/azuriteLauncher';
import {
  checkManagedDiskSlice,
  discardManagedDiskRestore,
  finishManagedDiskCheck,
  finishManagedDiskWrite,
  prepareManagedDiskRestore,
  writeManagedDiskSlice,
  type ManagedDiskRestoreRef,
  type ManagedDiskStepInput,
  type PreparedManagedDiskRestore,
} from '../../src/restore/restoreToManagedDisk';
import { RESTORE_STATE_TAG } from '../../src/restore/managedDiskTarget';
import { isValidFixedFooter } from '../../src/restore/vhdFooter';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { writePattern } from '../support/diskData';
import { armAccessFor, readManagedDisk } from '../support/managedDisks';
import { findSecrets, scanText } from '../support/secretScan';
import { freshContainer, readWhole, testBlobService } from '../support/storage';
import { testQueue } from '../support/devhost';
import { readRestoreProgress, restoreActivities, type RestoreJobInput } from '../../src/workflows/restoreActivities';
import { unwrap, type Outcome } from '../../src/workflows/outcome';

const MiB = 1024 * 1024;
const PAGE = 512;
const RG = 'rg-restore-steps';
/** Three slices of 8 MiB (the last one shorter), two 4 MiB windows each; the disk is 20 MiB + footer. */
const RAW_BYTES = 19 * MiB + 3 * PAGE;
const SLICE_BYTES = 8 * MiB;

let server: ArmTestServer;
let client: ComputeManagementClient;
let access: ArmAccess;
let container: ContainerClient;
let rpId: string;
let content: Buffer;
/** Everything a step returned or threw, scanned for secrets at the end. */
const seen: unknown[] = [];

beforeAll(async () => {
  server = await startArmServer();
  client = server.client();
  access = armAccessFor(server);
  container = await freshContainer('mdsteps');
  const disk = container.getPageBlobClient('vm/data.vhd');
  await disk.create(RAW_BYTES);
  // Data in every window of every slice, and in the last sector.
  for (let at = 0; at < 19 * MiB; at += 2 * MiB) await writePattern(disk, at + 64 * 1024, 256 * 1024, (o) => `w${at}.${o}`);
  await writePattern(disk, RAW_BYTES - PAGE, PAGE, () => 'tail');
  const source = new PageBlobSource(container, disk);
  rpId = (await runBackup(source, new VaultDisk(container, 'steps-disk'), 'job-1')).recoveryPoint.id;
  content = await readWhole(disk.withSnapshot((await source.findSnapshot('job-1'))!.id));
}, 120_000);
afterEach(() => {
  expect(server.activeGrants()).toEqual([]);
  server.faults.clear();
});
afterAll(async () => {
  await container?.delete();
  await server?.close();
});

const ref = (name: string): ManagedDiskRestoreRef => ({
  access,
  vaultContainer: container,
  recoveryPointId: rpId,
  target: { subscriptionId: server.subscriptionId, resourceGroup: RG, name, location: 'westeurope' },
  restoreId: `restore-${name}`,
  updateIntervalInMs: 10,
});

async function step<T>(p: Promise<T>): Promise<T> {
  const out = await p;
  seen.push(out);
  return out;
}

async function prepare(name: string): Promise<{ prepared: PreparedManagedDiskRestore; input: ManagedDiskStepInput }> {
  const prepared = await step(prepareManagedDiskRestore({ ...ref(name), sliceBytes: SLICE_BYTES }));
  return { prepared, input: { ...ref(name), layout: prepared.layout } };
}

const grantsOf = (diskId: string) => server.records.grants().filter((g) => g.resourceId === diskId);
const stateOf = async (name: string) => (await client.disks.get(RG, name)).diskState;

/** The whole disk as a VM would see it (a Read grant, revoked after). */
const readDisk = (name: string): Promise<Buffer> => readManagedDisk(server, RG, name);

function expectRestored(bytes: Buffer): void {
  expect(bytes.length).toBe(20 * MiB + PAGE);
  if (!bytes.subarray(0, RAW_BYTES).equals(content)) throw new Error(`restored disk differs from the point at byte ${content.findIndex((b, i) => b !== bytes[i])}`);
  expect(bytes.subarray(RAW_BYTES, 20 * MiB).every((b) => b === 0)).toBe(true);
  expect(isValidFixedFooter(bytes.subarray(20 * MiB), 20 * MiB)).toBe(true);
}

/** Check slices (`afterSlice` after each) and the final check, as the orchestration runs them after the write; the blocks checked. */
async function checkAll(prepared: PreparedManagedDiskRestore, input: ManagedDiskStepInput, afterSlice?: () => Promise<void>): Promise<number> {
  let checked = 0;
  for (const slice of prepared.slices) {
    const result = await step(checkManagedDiskSlice({ ...input, slice }));
    expect(result).toMatchObject({ badBlocks: [], badBlockCount: 0 });
    checked += result.blocksChecked;
    await afterSlice?.();
  }
  expect(await step(finishManagedDiskCheck({ ...input, badBlocks: [] }))).toEqual({ verified: true });
  return checked;
}

test('step by step in 8 MiB slices: one upload, re-granted per slice and ended only by the finishing step; the disk is the point plus its footer', async () => {
  const { prepared, input } = await prepare('steps-1');
  expect(prepared).toMatchObject({ sizeBytes: RAW_BYTES, uploadSizeBytes: 20 * MiB + PAGE, footer: 'generated', alreadyRestored: false });
  expect(prepared.slices).toEqual([
    { start: 0, end: 8 * MiB },
    { start: 8 * MiB, end: 16 * MiB },
    { start: 16 * MiB, end: RAW_BYTES },
  ]);
  expect(JSON.parse(JSON.stringify(prepared))).toEqual(prepared); // JSON-safe: it crosses activities
  expect(await stateOf('steps-1')).toBe('ReadyToUpload');

  let written = 0;
  for (const [i, slice] of prepared.slices.entries()) {
    written += (await step(writeManagedDiskSlice({ ...input, slice, concurrency: 2 }))).bytesWritten;
    // Not revoked between slices: the same upload stays active, and every Write grant so far is live.
    expect(await stateOf('steps-1')).toBe('ActiveUpload');
    expect(grantsOf(prepared.diskId).map((g) => [g.access, g.endReason])).toEqual(Array.from({ length: i + 1 }, () => ['Write', undefined]));
  }
  written += (await step(finishManagedDiskWrite(input))).bytesWritten;
  expect(written).toBe(prepared.bytesTotal);
  // The finishing step's revoke ends the upload, and with it every Write grant at once.
  expect(await stateOf('steps-1')).toBe('Unattached');
  const writes = grantsOf(prepared.diskId);
  expect(writes.map((g) => [g.access, g.endReason])).toEqual(Array.from({ length: 4 }, () => ['Write', 'revoked']));
  expect(new Set(writes.map((g) => g.endedAt?.getTime())).size).toBe(1);

  // Read grants stay until the last step.
  expect(await checkAll(prepared, input, async () => expect(await stateOf('steps-1')).toBe('ActiveSAS'))).toBeGreaterThanOrEqual(10);
  const disk = await client.disks.get(RG, 'steps-1');
  expect(disk).toMatchObject({ diskState: 'Unattached', tags: { [RESTORE_STATE_TAG]: 'verified' } });
  expect(server.activeGrants()).toEqual([]);
  expectRestored(await readDisk('steps-1'));

  // Retried after the end, every finishing step finds its work done; prepare finds the restore done.
  expect(await step(finishManagedDiskWrite(input))).toEqual({ bytesWritten: PAGE });
  expect(await step(finishManagedDiskCheck({ ...input, badBlocks: [] }))).toEqual({ verified: true });
  expect(await step(prepareManagedDiskRestore({ ...ref('steps-1'), sliceBytes: SLICE_BYTES }))).toMatchObject({ alreadyRestored: true, slices: [], diskId: prepared.diskId });
});

test('a write slice that fails midway is retried as it is (no revoke in between): the disk still ends byte-equal', async () => {
  const { prepared, input } = await prepare('steps-2');
  const [first, second, third] = prepared.slices as [(typeof prepared.slices)[0], (typeof prepared.slices)[0], (typeof prepared.slices)[0]];
  await step(writeManagedDiskSlice({ ...input, slice: first }));

  // The activity of the second slice dies after its first window (its second is never written).
  let windows = 0;
  const killed = await writeManagedDiskSlice({
    ...input,
    slice: second,
    concurrency: 1,
    onProgress: () => {
      if (++windows === 1) throw new Error('activity killed');
    },
  }).catch((e: unknown) => e);
  seen.push(killed);
  expect(killed).toMatchObject({ message: 'activity killed' });
  const data = server.dataOf(prepared.diskId);
  expect((await data.downloadToBuffer(8 * MiB + 64 * 1024, 1024)).equals(content.subarray(8 * MiB + 64 * 1024, 8 * MiB + 65 * 1024))).toBe(true);
  expect((await data.downloadToBuffer(12 * MiB + 64 * 1024, 1024)).every((b) => b === 0)).toBe(true);
  // Nothing was revoked: the upload goes on.
  expect(await stateOf('steps-2')).toBe('ActiveUpload');
  expect(grantsOf(prepared.diskId).every((g) => g.endedAt === undefined)).toBe(true);

  // The retry of that slice meets a failing grant first (ARM retries it), then writes the slice again.
  server.faults.add({ kind: 'serverError', operation: 'disks.grantAccess', times: 1 });
  server.faults.add({ kind: 'lroFailed', operation: 'disks.grantAccess', code: 'InternalExecutionError', times: 1 });
  await step(writeManagedDiskSlice({ ...input, slice: second }));
  expect(server.faults.list().map((f) => f.hits)).toEqual([1, 1]);
  await step(writeManagedDiskSlice({ ...input, slice: third }));
  await step(finishManagedDiskWrite(input));
  await checkAll(prepared, input);
  expectRestored(await readDisk('steps-2'));
});

test('a restore given up between slices: discard revokes and deletes; steps on a disk in the wrong state or not their own touch nothing', async () => {
  const { prepared, input } = await prepare('steps-3');
  await step(writeManagedDiskSlice({ ...input, slice: prepared.slices[0]! }));
  // Checking before the write finished is refused (the upload has not ended).
  const early = await checkManagedDiskSlice({ ...input, slice: prepared.slices[0]! }).catch((e: unknown) => e);
  seen.push(early);
  expect(early).toMatchObject({ code: 'STORAGE_FAILED' });
  expect((early as Error).message).toContain(prepared.diskId);
  // Another restore id, or a slice that is not whole blocks, is refused.
  for (const [bad, code] of [
    [writeManagedDiskSlice({ ...input, restoreId: 'restore-other', slice: prepared.slices[1]! }), 'ALREADY_EXISTS'],
    [writeManagedDiskSlice({ ...input, slice: { start: 4096, end: 8 * MiB } }), 'INVALID_RANGE'],
  ] as const) {
    const e = await bad.catch((x: unknown) => x);
    seen.push(e);
    expect(e).toMatchObject({ code });
  }
  expect(await stateOf('steps-3')).toBe('ActiveUpload');

  expect(await discardManagedDiskRestore({ ...ref('steps-3') })).toEqual({ deleted: true });
  expect(grantsOf(prepared.diskId).every((g) => g.endReason === 'revoked')).toBe(true);
  // A step after the discard finds no disk.
  const gone = await writeManagedDiskSlice({ ...input, slice: prepared.slices[1]! }).catch((e: unknown) => e);
  seen.push(gone);
  expect(gone).toMatchObject({ code: 'NOT_FOUND' });

  // An upload ended by someone else before all slices were written takes no more writes: the
  // slice says so (naming the disk) and writes nothing; the restore is discarded and starts over.
  const again = await prepare('steps-4');
  await step(writeManagedDiskSlice({ ...again.input, slice: again.prepared.slices[0]! }));
  await client.disks.beginRevokeAccessAndWait(RG, 'steps-4', server.fastPolling);
  const ended = await writeManagedDiskSlice({ ...again.input, slice: again.prepared.slices[1]! }).catch((e: unknown) => e);
  seen.push(ended);
  expect(ended).toMatchObject({ code: 'STORAGE_FAILED' });
  expect((ended as Error).message).toMatch(/^writing to managed disk '\/subscriptions\/.*\/disks\/steps-4': it is Unattached/);
  expect(await discardManagedDiskRestore({ ...ref('steps-4') })).toEqual({ deleted: true });
});

test("through the workflow's activities, in the orchestration's order: the disk is restored, progress adds up over the slices and the footer", async () => {
  const activities = restoreActivities({ blobService: testBlobService(), vaultContainer: container, eventsQueue: testQueue('mdsteps-unused'), arm: () => access, sliceBytes: SLICE_BYTES, updateIntervalInMs: 10 });
  const job: RestoreJobInput = {
    recoveryPointId: rpId,
    target: { kind: 'managedDisk', subscriptionId: server.subscriptionId, resourceGroup: RG, name: 'steps-5', location: 'westeurope' },
    jobId: 'restore-steps-5',
  };
  const value = <T>(outcome: Outcome<T>): T => {
    seen.push(outcome);
    return unwrap(outcome);
  };
  const prepared = value(await activities.prepareManagedDisk(job));
  expect(prepared.slices).toHaveLength(3);
  const step = { ...job, layout: prepared.layout };
  const { bytesTotal } = prepared;
  let done = 0;
  for (const slice of prepared.slices) done += value(await activities.writeManagedDiskSlice({ ...step, slice: { ...slice, doneBefore: done, bytesTotal } })).bytesWritten;
  expect(await readRestoreProgress(container, job.jobId)).toEqual({ bytesDone: done, bytesTotal });
  done += value(await activities.finishManagedDiskWrite({ ...step, progress: { doneBefore: done, bytesTotal } })).bytesWritten;
  expect(await readRestoreProgress(container, job.jobId)).toEqual({ bytesDone: bytesTotal, bytesTotal });
  const badBlocks: number[] = [];
  for (const slice of prepared.slices) badBlocks.push(...value(await activities.checkManagedDiskSlice({ ...step, slice })).badBlocks);
  expect(value(await activities.finishManagedDiskCheck({ ...step, badBlocks }))).toEqual({ verified: true });
  expectRestored(await readDisk('steps-5'));
  // A page-blob target given to a managed-disk step is refused as a permanent failure.
  expect(await activities.prepareManagedDisk({ ...job, target: { kind: 'pageBlob', container: 'restores', blob: 'x.vhd' } })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
});

test('nothing any step returned or threw holds a SAS signature or an account key', () => {
  const text = scanText(seen);
  expect(seen.length).toBeGreaterThan(20);
  expect(findSecrets(text, [EMULATOR_KEY, server.storageAccountKey])).toEqual([]);
});
