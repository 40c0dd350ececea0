/**
 * The DiskSource of a protected disk, from the protection config: a page blob in the vault's
 * account (the demo, the tests) is read with the vault's own BlobServiceClient; a page blob in
 * another account with DefaultAzureCredential (the Function App's identity, which needs a
 * data-reader role and snapshot rights on it); a managed disk through Azure Resource Manager with
 * the app's identity (ManagedDiskSource).
 */
import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';
import type { ProtectedDisk } from '../config/protectionConfig';
import type { Settings } from '../config/settings';
import type { DiskSource } from '../disks/diskSource';
import { PageBlobSource } from '../disks/pageBlobSource';
import { ManagedDiskSource } from '../disks/managedDiskSource';
import type { ArmAccess } from '../azure/armAccess';
import { appArmAccess } from '../config/armClients';
import { errors } from '../errors';

const services = new Map<string, BlobServiceClient>();

/** Whether a page blob's blob service is the vault account's. */
export function isVaultAccount(serviceUrl: string, settings: Pick<Settings, 'vault'>): boolean {
  return serviceUrl.replace(/\/+$/, '').toLowerCase() === settings.vault.blobServiceUrl.replace(/\/+$/, '').toLowerCase();
}

export function diskSourceFor(disk: ProtectedDisk, settings: Settings, vaultBlobService: BlobServiceClient, arm: () => ArmAccess = appArmAccess): DiskSource {
  const { source } = disk;
  if (source.kind === 'virtualMachine') {
    throw errors.invalidArgument(`disk '${disk.key}'`, 'is a virtual machine: its disks are found through ARM when its backup starts, each read as a managed disk');
  }
  if (source.kind === 'managedDisk') return new ManagedDiskSource({ access: arm(), diskId: source.id });
  let service: BlobServiceClient;
  if (isVaultAccount(source.serviceUrl, settings)) {
    service = vaultBlobService;
  } else {
    service = services.get(source.serviceUrl) ?? new BlobServiceClient(source.serviceUrl, new DefaultAzureCredential());
    services.set(source.serviceUrl, service);
  }
  const container = service.getContainerClient(source.container);
  return new PageBlobSource(container, container.getPageBlobClient(source.blobName));
}
