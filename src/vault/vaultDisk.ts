/** One disk's corner of the vault container: its base page blob and its blob names. */
import type { ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { RECOVERY_POINT_METADATA_KEY, assertDiskKey, vaultPaths } from './vaultLayout';

export class VaultDisk {
  readonly base: PageBlobClient;

  constructor(
    readonly container: ContainerClient,
    readonly diskKey: string,
  ) {
    assertDiskKey(diskKey);
    this.base = container.getPageBlobClient(vaultPaths.base(diskKey));
  }

  /** Snapshots of the base blob tagged as recovery point `rpId` (normally one). */
  async snapshotsOf(rpId: string): Promise<string[]> {
    const found: string[] = [];
    const items = this.container.listBlobsFlat({ prefix: this.base.name, includeSnapshots: true, includeMetadata: true });
    for await (const item of items) {
      if (item.name === this.base.name && item.snapshot && item.metadata?.[RECOVERY_POINT_METADATA_KEY] === rpId) found.push(item.snapshot);
    }
    return found;
  }
}
