/**
 * Issue 5, acceptance 1: the engine's property (test/support/restoreEqualsSourceProperty.ts) with
 * managed disks as the source, through the real @azure/arm-compute client against the ARM test
 * server. For a random disk history (writes, clears, overwrites across several backups, written
 * through the disk's bytes as a VM would), every retained recovery point restores to exactly the
 * bytes of the incremental snapshot it was taken from, and no access stays granted.
 */
import { startArmServer, type ArmTestServer } from '../support/armServer';
import { managedSource, smallManagedDisk } from '../support/managedDisks';
import { readWhole } from '../support/storage';
import { findSecrets } from '../support/secretScan';
import { MiB, checkRestoreEqualsSource, type DiskKind, type DiskUnderTest, type HistoryStep } from '../support/restoreEqualsSourceProperty';
import { VHD_FOOTER_BYTES } from '../../src/disks/managedDiskSource';
import { readChain } from '../../src/vault/chainState';

const DISK_BYTES = 20 * MiB + VHD_FOOTER_BYTES; // the smallest Upload disk
const RG = 'rg-prop';

let server: ArmTestServer;
const captured: unknown[] = [];

beforeAll(async () => {
  server = await startArmServer();
});
afterAll(async () => {
  expect(findSecrets(JSON.stringify(captured), [server.storageAccountKey])).toEqual([]);
  await server.close();
});

/** A small Upload disk on the ARM test server, its bytes written through the server's page blob. */
async function createDisk(run: number): Promise<DiskUnderTest> {
  const diskId = await smallManagedDisk(server, RG, `prop-${run}`);
  const source = managedSource(server, diskId, { rangeWindowBytes: 8 * MiB });
  return { source, bytes: server.dataOf(diskId), readSnapshot: (snapshot) => readWhole(server.dataOf(snapshot.id)) };
}

/** Full then incremental, the snapshot the whole disk with its footer, every grant revoked. */
function checkBackup({ step, outcome, snapshot }: HistoryStep): void {
  captured.push(outcome);
  expect(outcome.plan.mode).toBe(step === 0 ? 'full' : 'incremental');
  expect(snapshot.sizeBytes).toBe(DISK_BYTES);
  expect(server.activeGrants()).toEqual([]);
}

/** Source snapshots other than the chain head's go, as retention would delete them. */
async function keepOnlyHeadSnapshot({ disk: { source }, container, vault }: HistoryStep): Promise<void> {
  const head = (await readChain(container, vault.diskKey)).state.head;
  for (const s of await source.listSnapshots()) if (s.id !== head?.sourceSnapshotId) await source.deleteSnapshot(s.id);
  expect((await source.listSnapshots()).map((s) => s.id)).toEqual([head?.sourceSnapshotId]);
}

const managedDiskKind: DiskKind = {
  name: 'md',
  diskBytes: DISK_BYTES,
  createDisk,
  afterBackup: checkBackup,
  afterRetention: keepOnlyHeadSnapshot,
  afterHistory: () => expect(server.activeGrants()).toEqual([]),
};

test('restore of every retained recovery point of a managed disk equals its incremental snapshot', async () => {
  await checkRestoreEqualsSource(managedDiskKind, { numRuns: 5 });
}, 300_000);
