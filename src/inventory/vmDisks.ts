/**
 * A virtual machine's disks, as a VM backup needs them: its OS disk and its data disks (by LUN),
 * each a managed disk with the disk key it would have if the config named it (deriveDiskKey), so
 * a disk's backup chain is the same whether it is protected alone or as part of its VM. Read
 * through Azure Resource Manager when each backup starts, so a data disk attached since the last
 * backup is protected from then on.
 */
import { errors } from '../errors';
import { computeClient, type ArmAccess } from '../azure/armAccess';
import { deriveDiskKey, parseDiskSource, type ManagedDiskSource, type VirtualMachineSource } from '../config/protectionConfig';
import { armLookupFailure } from '../azure/armFailures';

export interface VmDisk {
  role: 'os' | 'data';
  /** The data disk's LUN; absent for the OS disk. */
  lun?: number;
  diskId: string;
  diskKey: string;
}

export interface VmDisks {
  vmId: string;
  location: string;
  /** OS disk first, then data disks by LUN. */
  disks: VmDisk[];
}

function managedDisk(id: string | undefined, where: string, vm: VirtualMachineSource): ManagedDiskSource {
  if (!id) {
    throw errors.notSupported(
      `virtual machine ${vm.id}: its ${where} is not a managed disk (unmanaged disks are retired); protect its VHD page blob URL instead`,
    );
  }
  const source = parseDiskSource(id);
  if (source?.kind !== 'managedDisk') throw errors.invalidArgument(`virtual machine ${vm.id}`, `its ${where} has an id ARM should not give: ${id}`);
  return source;
}

/** The disks of `vm` now (NOT_FOUND when the VM does not exist). */
export async function vmDisks(access: ArmAccess, vm: VirtualMachineSource): Promise<VmDisks> {
  let got;
  try {
    got = await computeClient(access, vm.subscriptionId).virtualMachines.get(vm.resourceGroup, vm.vmName);
  } catch (e) {
    throw armLookupFailure('reading virtual machine', 'virtual machine', vm.id, e);
  }
  const profile = got.storageProfile;
  const os = managedDisk(profile?.osDisk?.managedDisk?.id, 'OS disk', vm);
  const data = [...(profile?.dataDisks ?? [])].sort((a, b) => a.lun - b.lun);
  const disks: VmDisk[] = [{ role: 'os', diskId: os.id, diskKey: deriveDiskKey(os) }];
  for (const d of data) {
    const source = managedDisk(d.managedDisk?.id, `data disk at LUN ${d.lun}`, vm);
    disks.push({ role: 'data', lun: d.lun, diskId: source.id, diskKey: deriveDiskKey(source) });
  }
  return { vmId: got.id ?? vm.id, location: got.location, disks };
}
