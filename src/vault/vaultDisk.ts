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

  /** Every snapshot of the base blob, with the recovery point id it is tagged with (if any). */
  async *baseSnapshots(): AsyncGenerator<{ snapshot: string; recoveryPointId?: string }> {
    const items = this.container.listBlobsFlat({ prefix: this.base.name, includeSnapshots: true, includeMetadata: true });
    for await (const item of items) {
      if (item.name === this.base.name && item.snapshot) yield { snapshot: item.snapshot, recoveryPointId: item.metadata?.[RECOVERY_POINT_METADATA_KEY] };
    }
  }

  /** Snapshots of the base blob tagged as recovery point `rpId` (normally one). */
  async snapshotsOf(rpId: string): Promise<string[]> {
    const found: string[] = [];
    for await (const s of this.baseSnapshots()) if (s.recoveryPointId === rpId) found.push(s.snapshot);
    return found;
  }
}
