/** One disk's corner of the vault container: its base page blob and its blob names. */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { assertDiskKey, vaultPaths } from './vaultLayout';

export class VaultDisk {
  readonly base: PageBlobClient;

  constructor(
    readonly container: ContainerClient,
    readonly diskKey: string,
  ) {
    assertDiskKey(diskKey);
    this.base = container.getPageBlobClient(vaultPaths.base(diskKey));
  }
}
