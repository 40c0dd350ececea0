/**
 * The protection config's tag selector, resolved: every managed disk and virtual machine in the
 * selector's subscriptions (and, when it names them, only its resource groups) tagged
 * `deltavault-policy=<policy>` is protected by that policy under its derived key, unless the
 * config's `disks` names it already (the config wins). A disk attached to a selected or listed VM
 * is protected with its VM (snapshotted together), not again on its own. Tags whose value names
 * no policy are reported, not guessed at. Read through ARM when a policy's backup starts.
 */
import type { Disk, VirtualMachine } from '@azure/arm-compute';
import { computeClient, type ArmAccess } from '../azure/armAccess';
import {
  POLICY_TAG,
  deriveDiskKey,
  diskSourceIdentity,
  parseDiskSource,
  type ProtectedDisk,
  type ProtectionConfig,
} from '../config/protectionConfig';
import { armLookupFailure } from '../azure/armFailures';

export interface TagSelection {
  /** The disks and VMs the tag selects and `disks` does not list, in a stable order. */
  selected: ProtectedDisk[];
  /** Tagged resources that were left out, and why (an unknown policy name, a key already taken). */
  ignored: { id: string; reason: string }[];
}

interface Tagged {
  id: string;
  tags?: Record<string, string>;
}

/** The value of the policy tag (tag names are case-insensitive in ARM). */
export function policyTagOf(resource: Tagged): string | undefined {
  const entry = Object.entries(resource.tags ?? {}).find(([name]) => name.toLowerCase() === POLICY_TAG);
  return entry?.[1].trim();
}

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of pages) out.push(item);
  return out;
}

/** Every disk and VM of the selector's scope (as ARM lists them). */
async function listScope(access: ArmAccess, subscriptionId: string, resourceGroups: string[] | undefined): Promise<{ disks: Disk[]; vms: VirtualMachine[] }> {
  const client = computeClient(access, subscriptionId);
  try {
    if (!resourceGroups) return { disks: await collect(client.disks.list()), vms: await collect(client.virtualMachines.listAll()) };
    const disks: Disk[] = [];
    const vms: VirtualMachine[] = [];
    for (const group of resourceGroups) {
      disks.push(...(await collect(client.disks.listByResourceGroup(group))));
      vms.push(...(await collect(client.virtualMachines.list(group))));
    }
    return { disks, vms };
  } catch (e) {
    throw armLookupFailure('listing the disks and virtual machines for the tag selector', 'subscription', subscriptionId, e);
  }
}

/** Resolves `config.tagSelector` (none: nothing selected). */
export async function resolveTagSelector(access: ArmAccess, config: ProtectionConfig): Promise<TagSelection> {
  const selection: TagSelection = { selected: [], ignored: [] };
  const selector = config.tagSelector;
  if (!selector) return selection;
  const policies = new Set(config.policies.map((p) => p.name));
  const listedSources = new Set(config.disks.map((d) => diskSourceIdentity(d.source)));
  const keys = new Set(config.disks.map((d) => d.key));

  const disks: Disk[] = [];
  const vms: VirtualMachine[] = [];
  for (const subscriptionId of selector.subscriptions) {
    const scope = await listScope(access, subscriptionId, selector.resourceGroups);
    disks.push(...scope.disks);
    vms.push(...scope.vms);
  }

  // Disks that go with a VM: those of listed VMs and of tagged VMs.
  const vmDiskIds = new Set<string>();
  const addVmDisks = (vm: VirtualMachine): void => {
    const profile = vm.storageProfile;
    for (const id of [profile?.osDisk?.managedDisk?.id, ...(profile?.dataDisks ?? []).map((d) => d.managedDisk?.id)]) if (id) vmDiskIds.add(id.toLowerCase());
  };
  const listedVmIds = new Set(config.disks.filter((d) => d.source.kind === 'virtualMachine').map((d) => d.source.kind === 'virtualMachine' ? d.source.id.toLowerCase() : ''));
  for (const vm of vms) if (vm.id && (listedVmIds.has(vm.id.toLowerCase()) || policyTagOf(vm as Tagged) !== undefined)) addVmDisks(vm);

  const consider = (resource: Tagged): void => {
    const policy = policyTagOf(resource);
    if (policy === undefined) return;
    const source = parseDiskSource(resource.id);
    if (!source || source.kind === 'pageBlob') return;
    if (listedSources.has(diskSourceIdentity(source))) return; // the config's own entry wins
    if (!policies.has(policy)) {
      selection.ignored.push({ id: resource.id, reason: `its ${POLICY_TAG} tag names policy '${policy}', which the config does not define` });
      return;
    }
    const key = deriveDiskKey(source);
    if (keys.has(key)) {
      selection.ignored.push({ id: resource.id, reason: `its derived key '${key}' is already taken in the config` });
      return;
    }
    keys.add(key);
    selection.selected.push({ key, source, policy });
  };
  for (const vm of vms) if (vm.id) consider(vm as Tagged);
  for (const disk of disks) if (disk.id && !vmDiskIds.has(disk.id.toLowerCase())) consider(disk as Tagged);
  selection.selected.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return selection;
}
