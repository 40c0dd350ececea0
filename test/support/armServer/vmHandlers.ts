/**
 * Virtual machines (Microsoft.Compute/virtualMachines, api-version 2026-03-01), enough for a
 * client to expand a VM into its disks: PUT (answers 201/200 with the VM and
 * `Azure-AsyncOperation`, as the ComputeRP spec does), GET (no instance view: `$expand` is
 * ignored), list by resource group and by subscription, DELETE (202 + `Location`). A VM names
 * existing managed disks (`storageProfile.osDisk.managedDisk.id`, `dataDisks[].managedDisk.id`);
 * attaching sets the disk's `managedBy` and `diskState: Attached`, so the disk cannot be deleted.
 */
import { randomUUID } from 'node:crypto';
import { ArmError, armErrors } from './armErrors';
import { acceptedOperation, type ArmRequest, type ArmResponse, type ServerContext } from './context';
import { page } from './diskHandlers';
import { RESOURCE_TYPES, resourceId } from './routes';
import type { StoredResource } from './resourceStore';

interface Target {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
}

function object(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function vmWire(r: StoredResource): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    type: RESOURCE_TYPES.virtualMachines,
    location: r.location,
    tags: r.tags,
    properties: { ...r.properties, vmId: r.uniqueId, timeCreated: r.timeCreated.toISOString(), provisioningState: r.provisioningState },
  };
}

/** The managed disk ids a VM's storage profile names, OS disk first. */
export function vmDiskIds(properties: Record<string, unknown>): string[] {
  const storage = object(properties.storageProfile);
  const os = object(object(storage.osDisk).managedDisk).id;
  const data = Array.isArray(storage.dataDisks) ? storage.dataDisks.map((d) => object(object(d).managedDisk).id) : [];
  return [os, ...data].filter((id): id is string => typeof id === 'string');
}

export function getVm(ctx: ServerContext, t: Target): ArmResponse {
  const r = ctx.store.get(resourceId(t.subscriptionId, t.resourceGroup, 'virtualMachines', t.name));
  if (!r) throw armErrors.resourceNotFound(RESOURCE_TYPES.virtualMachines, t.resourceGroup, t.name);
  return { status: 200, body: vmWire(r) };
}

export function listVms(ctx: ServerContext, request: ArmRequest, subscriptionId: string, resourceGroup?: string): ArmResponse {
  return page(ctx, request, ctx.store.list(subscriptionId, 'virtualMachines', resourceGroup).map(vmWire));
}

export function putVm(ctx: ServerContext, request: ArmRequest, t: Target): ArmResponse {
  const body = object(request.body);
  const id = resourceId(t.subscriptionId, t.resourceGroup, 'virtualMachines', t.name);
  const existing = ctx.store.get(id);
  const location = typeof body.location === 'string' && body.location ? body.location : existing?.location;
  if (!location) throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  const properties = object(body.properties);
  const diskIds = vmDiskIds(properties);
  if (!object(object(properties.storageProfile).osDisk).managedDisk) {
    throw armErrors.invalidParameter('The test server needs storageProfile.osDisk.managedDisk.id (an existing managed disk, createOption Attach).', 'storageProfile.osDisk');
  }
  const disks = diskIds.map((diskId) => {
    const disk = ctx.store.get(diskId);
    if (!disk || disk.type !== 'disks') throw new ArmError(404, 'NotFound', `Disk '${diskId}' was not found.`, {}, 'storageProfile');
    if (disk.managedBy && disk.managedBy.toLowerCase() !== id.toLowerCase()) {
      throw armErrors.operationNotAllowed(`Disk '${disk.name}' is already attached to VM '${disk.managedBy}'.`);
    }
    if (disk.diskState === 'ReadyToUpload' || disk.diskState === 'ActiveUpload' || disk.diskState === 'ActiveSAS') {
      throw armErrors.operationNotAllowed(`Disk '${disk.name}' is ${disk.diskState} and cannot be attached.`);
    }
    return disk;
  });
  const vm: StoredResource = {
    id,
    name: t.name,
    type: 'virtualMachines',
    subscriptionId: t.subscriptionId,
    resourceGroup: t.resourceGroup,
    location,
    tags: body.tags === undefined ? (existing?.tags ?? {}) : (object(body.tags) as Record<string, string>),
    properties,
    provisioningState: existing ? 'Updating' : 'Creating',
    uniqueId: existing?.uniqueId ?? randomUUID(),
    timeCreated: existing?.timeCreated ?? new Date(),
  };
  ctx.store.put(vm);
  const op = ctx.startOperation('virtualMachines.createOrUpdate', id, async () => {
    for (const other of ctx.store.all()) {
      if (other.type === 'disks' && other.managedBy?.toLowerCase() === id.toLowerCase() && !disks.includes(other)) {
        other.managedBy = undefined;
        other.diskState = 'Unattached';
      }
    }
    for (const disk of disks) {
      disk.managedBy = id;
      disk.diskState = 'Attached';
    }
    vm.provisioningState = 'Succeeded';
  });
  void op.settle().then(() => {
    if (op.failure) vm.provisioningState = 'Failed';
  });
  return acceptedOperation(ctx, op, request.apiVersion, { status: existing ? 200 : 201, body: vmWire(vm), asyncOperation: true, location: false });
}

export function deleteVm(ctx: ServerContext, request: ArmRequest, t: Target): ArmResponse {
  const id = resourceId(t.subscriptionId, t.resourceGroup, 'virtualMachines', t.name);
  const vm = ctx.store.get(id);
  if (!vm) return { status: 204 };
  const op = ctx.startOperation('virtualMachines.delete', id, async () => {
    ctx.store.delete(id);
    for (const disk of ctx.store.all()) {
      if (disk.type === 'disks' && disk.managedBy?.toLowerCase() === id.toLowerCase()) {
        disk.managedBy = undefined;
        disk.diskState = 'Unattached';
      }
    }
  });
  return acceptedOperation(ctx, op, request.apiVersion, { status: 202, asyncOperation: false, location: true });
}
