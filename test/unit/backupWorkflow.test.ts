/**
 * The backup workflow's pure parts (instance and job ids, input validation) and its two
 * orchestrations run by the devhost's durable engine with fake activities (test/unit/durableHarness.ts).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.mock factories run before imports
jest.mock('@azure/functions-core', () => require('./durableHarness').fakeCoreModule(), { virtual: true });

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as df from 'durable-functions';
import { loadSettings } from '../../src/config/settings';
import { errors } from '../../src/errors';
import { withErrorCode } from '../../src/workflows/activities';
import { configAtLoad, disksOfPolicy, findDisk } from '../../src/workflows/appConfig';
import { MemoryStore } from '../../src/devhost/durable/store';
import type { DurableEngine } from '../../src/devhost/durable/engine';
import { diskBackupOrchestrator, errorOf, scaleRetryIntervalsForTests, COPY_BATCH } from '../../src/workflows/diskBackupOrchestrator';
import { parseDiskBackupInput, parsePolicyBackupInput, backupRequestSchema } from '../../src/workflows/inputs';
import { ACTIVITIES, BACKUP_OUTCOME_ACTIVITIES, ORCHESTRATORS, compactTime, diskInstanceId, jobIdFor, policyInstanceId } from '../../src/workflows/names';
import { policyBackupOrchestrator } from '../../src/workflows/policyBackupOrchestrator';
import { vmBackupOrchestrator } from '../../src/workflows/vmBackupOrchestrator';
import { restoreOrchestrator } from '../../src/workflows/restoreOrchestrator';
import { RESTORE_ACTIVITIES, RESTORE_ORCHESTRATOR } from '../../src/workflows/names';
import { isActiveStatus, skippedJobId } from '../../src/workflows/starters';
import { assertJobId } from '../../src/vault/vaultLayout';
import { newEngine, outputOf, startAndWait, TestHost } from './durableHarness';

const POLICY = { name: 'daily', retention: { keepLast: 3 } };

describe('names', () => {
  test('one deterministic instance id per disk', () => {
    expect(diskInstanceId('vm1-os')).toBe('backup-vm1-os');
    expect(() => diskInstanceId('Not A Key')).toThrow(/disk key/);
  });

  test('job ids come from the instance id and the orchestration clock, and are valid job ids', () => {
    const at = new Date('2024-03-05T07:08:09.010Z');
    expect(compactTime(at)).toBe('20240305T070809010Z');
    const jobId = jobIdFor(diskInstanceId('vm1'), at);
    expect(jobId).toBe('backup-vm1-20240305T070809010Z');
    expect(() => assertJobId(jobId)).not.toThrow();
    expect(jobIdFor('backup-vm1', at)).toBe(jobId);
    expect(() => assertJobId(skippedJobId('backup-vm1', at))).not.toThrow();
    expect(policyInstanceId('daily', at)).toBe('policy-daily-20240305T070809010Z');
  });

  test('active runtime statuses', () => {
    expect(['Pending', 'Running', 'ContinuedAsNew'].every(isActiveStatus)).toBe(true);
    expect(['Completed', 'Failed', 'Terminated', undefined].some(isActiveStatus)).toBe(false);
  });
});

describe('input validation', () => {
  test('a good disk input passes', () => {
    expect(parseDiskBackupInput({ diskKey: 'vm1', trigger: 'http', policy: POLICY })).toEqual({ diskKey: 'vm1', trigger: 'http', policy: POLICY });
  });

  test.each([
    [undefined],
    [{}],
    [{ diskKey: 'VM 1', trigger: 'http', policy: POLICY }],
    [{ diskKey: 'vm1', trigger: 'cron', policy: POLICY }],
    [{ diskKey: 'vm1', trigger: 'http', policy: { name: 'daily', retention: {} } }],
    [{ diskKey: 'vm1', trigger: 'http', policy: POLICY, jobId: 'bad job id' }],
  ])('a bad disk input is INVALID_ARGUMENT: %j', (input) => {
    expect(() => parseDiskBackupInput(input)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('policy input', () => {
    expect(parsePolicyBackupInput({ policy: POLICY, trigger: 'schedule', disks: ['a', 'b'] }).disks).toEqual(['a', 'b']);
    expect(() => parsePolicyBackupInput({ policy: POLICY, trigger: 'schedule', disks: ['A'] })).toThrow(/disks\.0/);
  });

  test('POST /api/backups bodies: exactly one of disk and policy', () => {
    expect(backupRequestSchema.safeParse({ disk: 'vm1' }).success).toBe(true);
    expect(backupRequestSchema.safeParse({ policy: 'daily' }).success).toBe(true);
    for (const bad of [{}, { disk: 'vm1', policy: 'daily' }, { disk: '' }, { disk: 3 }, [], 'vm1', null, { disks: 'vm1' }]) {
      expect(backupRequestSchema.safeParse(bad).success).toBe(false);
    }
  });
});

// ---- the orchestrations, with fake activities

interface Call {
  name: string;
  input: Record<string, unknown>;
}
const calls: Call[] = [];
let failStep: string | undefined;
let chunkCount = 0;

/** Activities registered with outcomes (functions/backups.ts): their results come as { ok, value }. */
const OUTCOME_NAMES = new Set<string>(BACKUP_OUTCOME_ACTIVITIES.map((k) => ACTIVITIES[k]));
let permanentStep: string | undefined;

function fake(name: string, result: (input: Record<string, unknown>) => unknown): void {
  df.app.activity(name, {
    handler: (input: unknown) => {
      const i = input as Record<string, unknown>;
      calls.push({ name, input: i });
      if (failStep === name) throw new Error(`SOURCE_CHANGED: ${name} failed`);
      if (permanentStep === name) return { ok: false, error: { code: 'NOT_FOUND', message: `${name}: the disk is gone` } };
      return OUTCOME_NAMES.has(name) ? { ok: true, value: result(i) } : result(i);
    },
  });
}

fake(ACTIVITIES.emitStarted, () => null);
fake(ACTIVITIES.snapshot, () => ({ snapshotId: '2024-03-05T07:08:09.0100000Z', sizeBytes: 1024 }));
fake(ACTIVITIES.plan, () => ({ mode: 'full', chunkIndexes: Array.from({ length: chunkCount }, (_, i) => i), bytesChanged: 10, bytesCleared: 0 }));
fake(ACTIVITIES.copyChunk, (i) => ({ index: i.index, bytesRead: 1, bytesWritten: 1, bytesCleared: 0 }));
fake(ACTIVITIES.seal, (i) => ({
  recoveryPointId: `${String(i.diskKey)}.20240305T070809010Z`,
  bytesChanged: 10,
  bytesCleared: 0,
  bytesTransferred: 8,
  durationMs: 5,
}));
fake(ACTIVITIES.prune, () => ({ deleted: [], kept: 1, snapshotsDeleted: 0 }));
fake(ACTIVITIES.emitSucceeded, () => null);
fake(ACTIVITIES.abandon, () => null);
df.app.orchestration(ORCHESTRATORS.diskBackup, diskBackupOrchestrator);
df.app.orchestration(ORCHESTRATORS.policyBackup, policyBackupOrchestrator);
df.app.orchestration(ORCHESTRATORS.vmBackup, vmBackupOrchestrator);
const SUB = '00000000-0000-0000-0000-000000000001';
const diskId = (name: string): string => `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/disks/${name}`;
const vmId = (name: string): string => `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${name}`;
fake(ACTIVITIES.vmDisks, (i) => ({
  vmId: i.vmId,
  location: 'westeurope',
  disks: [
    { role: 'os', diskId: diskId(`${String(i.vmKey)}-os`), diskKey: `${String(i.vmKey)}-os` },
    { role: 'data', lun: 0, diskId: diskId(`${String(i.vmKey)}-d0`), diskKey: `${String(i.vmKey)}-d0` },
    { role: 'data', lun: 3, diskId: diskId(`${String(i.vmKey)}-d3`), diskKey: `${String(i.vmKey)}-d3` },
  ],
}));
fake(ACTIVITIES.sealVm, (i) => ({ vmRecoveryPointId: `${String(i.vmKey)}.20240305T070809010Z`, pruned: [] }));
df.app.orchestration(RESTORE_ORCHESTRATOR, restoreOrchestrator);
const GiB = 1024 ** 3;
fake(RESTORE_ACTIVITIES.emitStarted, () => null);
fake(RESTORE_ACTIVITIES.planRestore, () => ({
  ok: true,
  value: { slices: [{ start: 0, end: 64 * GiB }, { start: 64 * GiB, end: 128 * GiB }, { start: 128 * GiB, end: 130 * GiB }], bytesTotal: 30 },
}));
fake(RESTORE_ACTIVITIES.restore, () => ({ ok: true, value: { recoveryPointId: 'vm1.20240305T070809010Z', sizeBytes: 130 * GiB, bytesWritten: 10, blocksChecked: 4 } }));
let alreadyRestored = false;
const LAYOUT = { dataBytes: 130 * GiB, diskBytes: 130 * GiB, uploadSizeBytes: 130 * GiB + 512, footer: 'generated', footerBase64: 'AA==' };
fake(RESTORE_ACTIVITIES.prepareManagedDisk, () => ({
  ok: true,
  value: {
    recoveryPointId: 'vm1.20240305T070809010Z',
    diskId: diskId('restored'),
    sizeBytes: 130 * GiB,
    uploadSizeBytes: 130 * GiB + 512,
    footer: 'generated',
    alreadyRestored,
    bytesTotal: 31,
    slices: alreadyRestored ? [] : [{ start: 0, end: 64 * GiB }, { start: 64 * GiB, end: 128 * GiB }, { start: 128 * GiB, end: 130 * GiB }],
    layout: LAYOUT,
  },
}));
fake(RESTORE_ACTIVITIES.writeManagedDiskSlice, () => ({ ok: true, value: { bytesWritten: 10 } }));
fake(RESTORE_ACTIVITIES.finishManagedDiskWrite, () => ({ ok: true, value: { bytesWritten: 1 } }));
fake(RESTORE_ACTIVITIES.checkManagedDiskSlice, (i) => {
  const start = (i.slice as { start: number }).start;
  return { ok: true, value: { blocksChecked: 4, badBlocks: start === 64 * GiB ? [70000] : [], badBlockCount: start === 64 * GiB ? 1 : 0 } };
});
fake(RESTORE_ACTIVITIES.finishManagedDiskCheck, () => ({ ok: true, value: { verified: true } }));
fake(RESTORE_ACTIVITIES.discardTarget, () => ({ deleted: false }));
fake(RESTORE_ACTIVITIES.emitSucceeded, () => null);
fake(RESTORE_ACTIVITIES.emitFailed, () => null);

let host: TestHost;
let engine: DurableEngine;

beforeAll(() => {
  scaleRetryIntervalsForTests(0.001);
  host = new TestHost();
  engine = newEngine(host, new MemoryStore());
});

afterAll(async () => {
  await (engine as unknown as { stop?: () => Promise<void> }).stop?.();
});

beforeEach(() => {
  calls.length = 0;
  failStep = undefined;
  permanentStep = undefined;
  chunkCount = 10;
  alreadyRestored = false;
});

describe('the disk orchestration', () => {
  test('runs every step in order, copies every chunk in batches, reports progress', async () => {
    const record = await startAndWait(engine, ORCHESTRATORS.diskBackup, { diskKey: 'vm1', trigger: 'http', policy: POLICY }, 'backup-vm1');
    expect(record.runtimeStatus).toBe('Completed');
    const out = outputOf(record) as { jobId: string; recoveryPointId: string };
    expect(out.jobId).toMatch(/^backup-vm1-\d{8}T\d{9}Z$/);
    expect(out.recoveryPointId).toBe('vm1.20240305T070809010Z');
    const names = calls.map((c) => c.name);
    expect(names.filter((n) => n === ACTIVITIES.copyChunk)).toHaveLength(10);
    expect(names.filter((n) => n !== ACTIVITIES.copyChunk)).toEqual([
      ACTIVITIES.emitStarted,
      ACTIVITIES.snapshot,
      ACTIVITIES.plan,
      ACTIVITIES.seal,
      ACTIVITIES.prune,
      ACTIVITIES.emitSucceeded,
    ]);
    expect(new Set(calls.map((c) => c.input.jobId))).toEqual(new Set([out.jobId]));
    expect(calls.find((c) => c.name === ACTIVITIES.prune)?.input.retention).toEqual(POLICY.retention);
    expect(JSON.parse(String(record.customStatus))).toEqual({ step: 'succeeded', jobId: out.jobId, chunksDone: 10, chunksTotal: 10 });
    expect(COPY_BATCH).toBeGreaterThan(1);
  });

  test('a given jobId is used as is', async () => {
    const record = await startAndWait(engine, ORCHESTRATORS.diskBackup, { diskKey: 'vm2', jobId: 'job-42', trigger: 'schedule', policy: POLICY }, 'backup-vm2');
    expect((outputOf(record) as { jobId: string }).jobId).toBe('job-42');
  });

  test('a failure abandons the job (with the error) and fails the instance', async () => {
    failStep = ACTIVITIES.copyChunk;
    const record = await startAndWait(engine, ORCHESTRATORS.diskBackup, { diskKey: 'vm3', trigger: 'http', policy: POLICY }, 'backup-vm3');
    expect(record.runtimeStatus).toBe('Failed');
    const abandon = calls.filter((c) => c.name === ACTIVITIES.abandon);
    expect(abandon).toHaveLength(1);
    expect(abandon[0]?.input).toMatchObject({ diskKey: 'vm3', sealed: false, error: { code: 'SOURCE_CHANGED' } });
    expect(calls.some((c) => c.name === ACTIVITIES.seal || c.name === ACTIVITIES.emitSucceeded)).toBe(false);
  });

  test('a permanent failure (an outcome) is not retried: the job is abandoned with its code at once', async () => {
    permanentStep = ACTIVITIES.plan;
    const record = await startAndWait(engine, ORCHESTRATORS.diskBackup, { diskKey: 'vm6', trigger: 'http', policy: POLICY }, 'backup-vm6');
    expect(record.runtimeStatus).toBe('Failed');
    expect(calls.filter((c) => c.name === ACTIVITIES.plan)).toHaveLength(1);
    expect(calls.find((c) => c.name === ACTIVITIES.abandon)?.input).toMatchObject({ diskKey: 'vm6', sealed: false, error: { code: 'NOT_FOUND', message: `${ACTIVITIES.plan}: the disk is gone` } });
  });

  test('a failure after the seal does not abandon the sealed job', async () => {
    failStep = ACTIVITIES.prune;
    const record = await startAndWait(engine, ORCHESTRATORS.diskBackup, { diskKey: 'vm4', trigger: 'http', policy: POLICY }, 'backup-vm4');
    expect(record.runtimeStatus).toBe('Failed');
    expect(calls.find((c) => c.name === ACTIVITIES.abandon)?.input).toMatchObject({ sealed: true });
  });

  test('bad input fails the instance before any activity', async () => {
    const record = await startAndWait(engine, ORCHESTRATORS.diskBackup, { diskKey: 'vm5' }, 'backup-vm5');
    expect(record.runtimeStatus).toBe('Failed');
    expect(calls).toHaveLength(0);
  });
});

describe('the policy orchestration', () => {
  test('one sub-orchestration per disk, under the disk instance id', async () => {
    chunkCount = 1;
    const record = await startAndWait(engine, ORCHESTRATORS.policyBackup, { policy: POLICY, trigger: 'schedule', disks: ['p1', 'p2'] }, 'policy-daily-1');
    expect(record.runtimeStatus).toBe('Completed');
    expect(outputOf(record)).toEqual({ policy: 'daily', disks: ['p1', 'p2'] });
    const started = calls.filter((c) => c.name === ACTIVITIES.emitStarted).map((c) => c.input);
    expect(started.map((s) => s.diskKey).sort()).toEqual(['p1', 'p2']);
    expect(started.every((s) => String(s.jobId).startsWith(`backup-${String(s.diskKey)}-`) && s.trigger === 'schedule')).toBe(true);
  });
});

describe('the config the app registers its timers from', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dv-wf-'));
  const env = (config?: string): Record<string, string> => ({
    DELTAVAULT_VAULT: 'UseDevelopmentStorage=true',
    ...(config ? { DELTAVAULT_CONFIG: config } : {}),
  });

  test('a file is read synchronously and validated; an invalid one throws CONFIG_INVALID', () => {
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({
        policies: [{ name: 'p', schedule: '0 0 * * * *', retention: { keepLast: 2 } }],
        disks: [{ source: 'https://acct.blob.core.windows.net/disks/vm1.vhd', policy: 'p', key: 'vm1' }],
      }),
    );
    const config = configAtLoad(loadSettings(env(good)));
    expect(config?.policies.map((p) => p.name)).toEqual(['p']);
    expect(findDisk((config as NonNullable<typeof config>), 'vm1')?.key).toBe('vm1');
    expect(findDisk((config as NonNullable<typeof config>), 'https://acct.blob.core.windows.net/disks/vm1.vhd')?.key).toBe('vm1');
    expect(findDisk((config as NonNullable<typeof config>), 'vm2')).toBeUndefined();
    expect(disksOfPolicy((config as NonNullable<typeof config>), 'p').map((d) => d.key)).toEqual(['vm1']);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ policies: [{ name: 'p', schedule: '0 * * * *', retention: {} }], disks: [] }));
    expect(() => configAtLoad(loadSettings(env(bad)))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => configAtLoad(loadSettings(env(join(dir, 'missing.json'))))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  test('no config on the emulator: the demo; a blob URL is read by the built reader process (test/e2e/configBlob.test.ts)', () => {
    expect(configAtLoad(loadSettings(env())).policies.map((p) => p.name)).toEqual(['demo']);
    // Under ts-jest there is no compiled reader: a clear error, never a silent "no timers".
    expect(() => configAtLoad(loadSettings(env('https://acct.blob.core.windows.net/config/protection.json')))).toThrow(
      expect.objectContaining({ code: 'NOT_SUPPORTED', message: expect.stringContaining('npm run build') }),
    );
  });
});

describe('errors for backup.failed', () => {
  test('the code in front of an activity message is the event code', async () => {
    const e = await withErrorCode(() => Promise.reject(errors.sourceChanged('the disk was resized'))).catch((x: unknown) => x);
    expect((e as Error).message).toBe('SOURCE_CHANGED: the disk was resized');
    expect(errorOf(e)).toEqual({ code: 'SOURCE_CHANGED', message: 'the disk was resized' });
    expect(errorOf(new Error('boom'))).toEqual({ code: 'INTERNAL_ERROR', message: 'boom' });
  });
});

test('no config with a real vault account: SETTINGS_INVALID at load (the demo runs on the emulator only)', () => {
  const settings = loadSettings({
    DELTAVAULT_VAULT__blobServiceUri: 'https://acct.blob.core.windows.net',
    DELTAVAULT_VAULT__queueServiceUri: 'https://acct.queue.core.windows.net',
  });
  expect(() => configAtLoad(settings)).toThrow(expect.objectContaining({ code: 'SETTINGS_INVALID' }));
});

describe('the VM orchestration', () => {
  test('every disk is snapshotted before any is copied; each disk runs its own backup; one VM point groups them', async () => {
    chunkCount = 2;
    const record = await startAndWait(engine, ORCHESTRATORS.vmBackup, { vmKey: 'web', vmId: vmId('web'), trigger: 'schedule', policy: POLICY }, 'vmbackup-web');
    expect(record.runtimeStatus).toBe('Completed');
    const names = calls.map((c) => c.name);
    const lastSnapshot = names.lastIndexOf(ACTIVITIES.snapshot);
    const firstPlan = names.indexOf(ACTIVITIES.plan);
    expect(names.filter((n) => n === ACTIVITIES.snapshot)).toHaveLength(3);
    expect(lastSnapshot).toBeLessThan(firstPlan);
    expect(names.filter((n) => n === ACTIVITIES.emitStarted)).toHaveLength(3);
    expect(names.indexOf(ACTIVITIES.emitStarted)).toBeLessThan(names.indexOf(ACTIVITIES.snapshot));
    // The disk orchestrations did not start or snapshot again.
    expect(names.filter((n) => n === ACTIVITIES.plan)).toHaveLength(3);
    const plans = calls.filter((c) => c.name === ACTIVITIES.plan).map((c) => c.input);
    expect(plans.map((p) => p.sourceId).sort()).toEqual([diskId('web-d0'), diskId('web-d3'), diskId('web-os')]);
    expect(new Set(calls.filter((c) => c.name === ACTIVITIES.snapshot).map((c) => String(c.input.jobId).slice(-19))).size).toBe(1);
    const seal = calls.find((c) => c.name === ACTIVITIES.sealVm)?.input as { disks: { diskKey: string; recoveryPointId: string; role: string; lun?: number }[]; takenAt: string };
    expect(seal.disks).toEqual([
      { role: 'os', diskId: diskId('web-os'), diskKey: 'web-os', recoveryPointId: 'web-os.20240305T070809010Z' },
      { role: 'data', lun: 0, diskId: diskId('web-d0'), diskKey: 'web-d0', recoveryPointId: 'web-d0.20240305T070809010Z' },
      { role: 'data', lun: 3, diskId: diskId('web-d3'), diskKey: 'web-d3', recoveryPointId: 'web-d3.20240305T070809010Z' },
    ]);
    expect(outputOf(record)).toMatchObject({ vmKey: 'web', vmRecoveryPointId: 'web.20240305T070809010Z' });
    // Every disk point gets the VM backup's time.
    const pointTimes = calls.filter((c) => c.name === ACTIVITIES.seal).map((c) => c.input.pointAt);
    expect(pointTimes).toHaveLength(3);
    expect(new Set(pointTimes)).toEqual(new Set([seal.takenAt]));
  });

  test('a failed snapshot ends every disk job (backup.failed) and the VM gets no point', async () => {
    failStep = ACTIVITIES.snapshot;
    const record = await startAndWait(engine, ORCHESTRATORS.vmBackup, { vmKey: 'db', vmId: vmId('db'), trigger: 'http', policy: POLICY }, 'vmbackup-db');
    expect(record.runtimeStatus).toBe('Failed');
    expect(calls.filter((c) => c.name === ACTIVITIES.abandon).map((c) => c.input.diskKey).sort()).toEqual(['db-d0', 'db-d3', 'db-os']);
    expect(calls.some((c) => c.name === ACTIVITIES.plan || c.name === ACTIVITIES.sealVm)).toBe(false);
  });

  test('a VM whose disks cannot be read: its own job ends with backup.failed, no disk job starts', async () => {
    failStep = ACTIVITIES.vmDisks;
    const record = await startAndWait(engine, ORCHESTRATORS.vmBackup, { vmKey: 'gone', vmId: vmId('gone'), trigger: 'schedule', policy: POLICY }, 'vmbackup-gone');
    expect(record.runtimeStatus).toBe('Failed');
    expect(calls.filter((c) => c.name === ACTIVITIES.abandon).map((c) => c.input)).toEqual([
      expect.objectContaining({ diskKey: 'gone', sealed: true, error: expect.objectContaining({ code: 'SOURCE_CHANGED' }) }),
    ]);
    expect(calls.some((c) => c.name === ACTIVITIES.emitStarted || c.name === ACTIVITIES.snapshot)).toBe(false);
  });

  test('a policy run starts its VMs and tag-selected managed disks too', async () => {
    chunkCount = 1;
    const record = await startAndWait(
      engine,
      ORCHESTRATORS.policyBackup,
      { policy: POLICY, trigger: 'schedule', disks: ['p3'], managedDisks: [{ key: 'tagged-1', id: diskId('tagged') }], vms: [{ key: 'app', id: vmId('app') }] },
      'policy-daily-2',
    );
    expect(record.runtimeStatus).toBe('Completed');
    expect(outputOf(record)).toEqual({ policy: 'daily', disks: ['p3', 'tagged-1'], vms: ['app'] });
    expect(calls.filter((c) => c.name === ACTIVITIES.sealVm)).toHaveLength(1);
    expect(calls.find((c) => c.name === ACTIVITIES.plan && c.input.diskKey === 'tagged-1')?.input.sourceId).toBe(diskId('tagged'));
  });
});

describe('the restore orchestration', () => {
  test('a page blob restore runs its slices one after another; progress and totals add up', async () => {
    const record = await startAndWait(
      engine,
      RESTORE_ORCHESTRATOR,
      { recoveryPointId: 'vm1.20240305T070809010Z', target: { kind: 'pageBlob', container: 'restores', blob: 'big.vhd' } },
      'restore-0123456789abcdef0123456789abcdef',
    );
    expect(record.runtimeStatus).toBe('Completed');
    const slices = calls.filter((c) => c.name === RESTORE_ACTIVITIES.restore).map((c) => c.input.slice as { start: number; doneBefore: number; bytesTotal: number });
    expect(slices.map((x) => [x.start / GiB, x.doneBefore, x.bytesTotal])).toEqual([
      [0, 0, 30],
      [64, 10, 30],
      [128, 20, 30],
    ]);
    expect(outputOf(record)).toMatchObject({ bytesWritten: 30 });
    expect(calls.find((c) => c.name === RESTORE_ACTIVITIES.emitSucceeded)?.input).toMatchObject({ bytesWritten: 30 });
  });

  const managedInput = {
    recoveryPointId: 'vm1.20240305T070809010Z',
    target: { kind: 'managedDisk', subscriptionId: SUB, resourceGroup: 'rg', name: 'restored', location: 'westeurope' },
  };

  test('a managed disk: prepare, write each slice, finish the write, check each slice, finish the check; each step gets the layout', async () => {
    const record = await startAndWait(engine, RESTORE_ORCHESTRATOR, managedInput, 'restore-1123456789abcdef0123456789abcdef');
    expect(record.runtimeStatus).toBe('Completed');
    expect(calls.map((c) => c.name)).toEqual([
      RESTORE_ACTIVITIES.emitStarted,
      RESTORE_ACTIVITIES.prepareManagedDisk,
      ...Array(3).fill(RESTORE_ACTIVITIES.writeManagedDiskSlice),
      RESTORE_ACTIVITIES.finishManagedDiskWrite,
      ...Array(3).fill(RESTORE_ACTIVITIES.checkManagedDiskSlice),
      RESTORE_ACTIVITIES.finishManagedDiskCheck,
      RESTORE_ACTIVITIES.emitSucceeded,
    ]);
    const steps = calls.slice(2, -1);
    expect(steps.every((c) => JSON.stringify(c.input.layout) === JSON.stringify(LAYOUT) && c.input.jobId === 'restore-1123456789abcdef0123456789abcdef')).toBe(true);
    // Progress of the writes adds up across the slices and the footer.
    const writes = calls.filter((c) => c.name === RESTORE_ACTIVITIES.writeManagedDiskSlice).map((c) => c.input.slice as { start: number; doneBefore: number; bytesTotal: number });
    expect(writes.map((x) => [x.start / GiB, x.doneBefore, x.bytesTotal])).toEqual([
      [0, 0, 31],
      [64, 10, 31],
      [128, 20, 31],
    ]);
    expect(calls.find((c) => c.name === RESTORE_ACTIVITIES.finishManagedDiskWrite)?.input.progress).toEqual({ doneBefore: 30, bytesTotal: 31 });
    const checks = calls.filter((c) => c.name === RESTORE_ACTIVITIES.checkManagedDiskSlice).map((c) => c.input.slice);
    expect(checks).toEqual([{ start: 0, end: 64 * GiB }, { start: 64 * GiB, end: 128 * GiB }, { start: 128 * GiB, end: 130 * GiB }]);
    // What the check slices found goes to the finishing step, which gives the verdict.
    expect(calls.find((c) => c.name === RESTORE_ACTIVITIES.finishManagedDiskCheck)?.input.badBlocks).toEqual([70000]);
    expect(outputOf(record)).toMatchObject({ bytesWritten: 31, diskId: diskId('restored'), sizeBytes: 130 * GiB });
    expect(calls.find((c) => c.name === RESTORE_ACTIVITIES.emitSucceeded)?.input).toMatchObject({ bytesWritten: 31 });
  });

  test('a managed disk already restored by an earlier attempt: nothing is written or checked', async () => {
    alreadyRestored = true;
    const record = await startAndWait(engine, RESTORE_ORCHESTRATOR, managedInput, 'restore-2123456789abcdef0123456789abcdef');
    expect(record.runtimeStatus).toBe('Completed');
    expect(calls.map((c) => c.name)).toEqual([RESTORE_ACTIVITIES.emitStarted, RESTORE_ACTIVITIES.prepareManagedDisk, RESTORE_ACTIVITIES.emitSucceeded]);
    expect(outputOf(record)).toMatchObject({ bytesWritten: 0, diskId: diskId('restored') });
  });

  test.each([
    ['a write slice', RESTORE_ACTIVITIES.writeManagedDiskSlice],
    ['the final check', RESTORE_ACTIVITIES.finishManagedDiskCheck],
  ])('a managed disk: when %s fails for good, no further step runs, the disk is discarded, restore.failed', async (_what, step) => {
    permanentStep = step;
    const record = await startAndWait(engine, RESTORE_ORCHESTRATOR, managedInput, 'restore-3123456789abcdef0123456789abcdef');
    expect(record.runtimeStatus).toBe('Failed');
    const names = calls.map((c) => c.name);
    expect(names.slice(names.indexOf(step))).toEqual([step, RESTORE_ACTIVITIES.discardTarget, RESTORE_ACTIVITIES.emitFailed]);
    expect(calls.find((c) => c.name === RESTORE_ACTIVITIES.emitFailed)?.input.error).toMatchObject({ code: 'NOT_FOUND' });
  });
});
