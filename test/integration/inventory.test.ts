/**
 * What a policy protects beyond its listed page blobs, read through the real @azure/arm-compute
 * client from the ARM test server: a VM's disks (OS first, data disks by LUN, keys as if listed
 * alone), and the tag selector (tagged disks and VMs, listed entries winning, a VM's disks going
 * with their VM, unknown policies reported).
 */
import { armAccessFor } from '../support/managedDisks';
import type { ArmAccess } from '../../src/azure/armAccess';
import { deriveDiskKey, parseDiskSource, parseProtectionConfig, type VirtualMachineSource } from '../../src/config/protectionConfig';
import { DeltavaultError } from '../../src/errors';
import { resolveTagSelector } from '../../src/inventory/tagSelection';
import { vmDisks } from '../../src/inventory/vmDisks';
import { startArmServer, type ArmTestServer } from '../support/armServer';

let server: ArmTestServer;
let access: ArmAccess;
const RG = 'rg-inv';
const OTHER_RG = 'rg-elsewhere';

beforeAll(async () => {
  server = await startArmServer();
  access = armAccessFor(server);
});
afterAll(async () => server?.close());

async function disk(name: string, group = RG, tags?: Record<string, string>): Promise<string> {
  const made = await server
    .client()
    .disks.beginCreateOrUpdateAndWait(group, name, { location: 'westeurope', diskSizeGB: 1, creationData: { createOption: 'Empty' }, ...(tags ? { tags } : {}) }, server.fastPolling);
  return made.id!;
}

async function vm(name: string, os: string, data: { lun: number; id: string }[], tags?: Record<string, string>): Promise<string> {
  const made = await server.client().virtualMachines.beginCreateOrUpdateAndWait(
    RG,
    name,
    {
      location: 'westeurope',
      ...(tags ? { tags } : {}),
      hardwareProfile: { vmSize: 'Standard_D2s_v5' },
      storageProfile: {
        osDisk: { createOption: 'Attach', osType: 'Linux', managedDisk: { id: os } },
        dataDisks: data.map((d) => ({ lun: d.lun, createOption: 'Attach', managedDisk: { id: d.id } })),
      },
    },
    server.fastPolling,
  );
  return made.id!;
}

const vmSource = (id: string): VirtualMachineSource => parseDiskSource(id) as VirtualMachineSource;

test("a VM's disks: OS first, data disks by LUN, each keyed as if the config listed it", async () => {
  const os = await disk('app-os');
  const d5 = await disk('app-data5');
  const d0 = await disk('app-data0');
  const id = await vm('app', os, [
    { lun: 5, id: d5 },
    { lun: 0, id: d0 },
  ]);
  const found = await vmDisks(access, vmSource(id));
  expect(found.location).toBe('westeurope');
  expect(found.disks).toEqual([
    { role: 'os', diskId: os, diskKey: deriveDiskKey(parseDiskSource(os)!) },
    { role: 'data', lun: 0, diskId: d0, diskKey: deriveDiskKey(parseDiskSource(d0)!) },
    { role: 'data', lun: 5, diskId: d5, diskKey: deriveDiskKey(parseDiskSource(d5)!) },
  ]);
  const missing = await vmDisks(access, vmSource(id.replace(/app$/, 'gone'))).catch((e: unknown) => e);
  expect(missing).toBeInstanceOf(DeltavaultError);
  expect((missing as DeltavaultError).code).toBe('NOT_FOUND');
});

test('the tag selector: tagged disks and VMs, listed entries win, a VM takes its disks, unknown policies are reported', async () => {
  const sub = server.subscriptionId;
  const tagged = await disk('tagged', RG, { 'Deltavault-Policy': 'nightly' });
  const listed = await disk('listed', RG, { 'deltavault-policy': 'nightly' });
  const wrong = await disk('wrong-policy', RG, { 'deltavault-policy': 'weekly' });
  await disk('untagged');
  const outOfScope = await disk('other-group', OTHER_RG, { 'deltavault-policy': 'nightly' });
  const dbOs = await disk('db-os', RG, { 'deltavault-policy': 'nightly' });
  const dbData = await disk('db-data');
  const db = await vm('db', dbOs, [{ lun: 0, id: dbData }], { 'deltavault-policy': 'hourly' });

  const config = parseProtectionConfig(
    {
      policies: [
        { name: 'nightly', schedule: '0 0 2 * * *', retention: { keepLast: 3 } },
        { name: 'hourly', schedule: '0 0 * * * *', retention: { keepLast: 3 } },
      ],
      disks: [{ source: listed, policy: 'hourly', key: 'listed' }],
      tagSelector: { subscriptions: [sub], resourceGroups: [RG] },
    },
    'test',
  );
  const selection = await resolveTagSelector(access, config);
  const byId = new Map(selection.selected.map((d) => [d.source.kind === 'pageBlob' ? d.source.url : d.source.id, d]));
  expect([...byId.keys()].sort()).toEqual([db, tagged].sort());
  expect(byId.get(tagged)).toMatchObject({ policy: 'nightly', key: deriveDiskKey(parseDiskSource(tagged)!), source: { kind: 'managedDisk' } });
  expect(byId.get(db)).toMatchObject({ policy: 'hourly', source: { kind: 'virtualMachine', vmName: 'db' } });
  expect(byId.has(outOfScope)).toBe(false); // another resource group
  expect(byId.has(dbOs)).toBe(false); // goes with its VM
  expect(selection.ignored).toEqual([{ id: wrong, reason: "its deltavault-policy tag names policy 'weekly', which the config does not define" }]);

  // Without resource groups: the whole subscription.
  const wide = await resolveTagSelector(access, { ...config, tagSelector: { subscriptions: [sub] } });
  expect(wide.selected.map((d) => (d.source.kind === 'pageBlob' ? '' : d.source.id))).toContain(outOfScope);
});
