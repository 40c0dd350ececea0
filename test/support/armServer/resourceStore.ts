/**
 * The server's resources (disks, snapshots, virtual machines) in memory, keyed by their ARM id
 * compared case-insensitively as ARM does. A disk or snapshot also knows where its bytes are in
 * Azurite (`data`); everything else is what the ARM GET answer shows.
 */
import type { ResourceKind } from './routes';

/** Where a disk's or snapshot's bytes live: a page blob, or a blob snapshot of one, in Azurite. */
export interface DataLocation {
  readonly container: string;
  readonly blob: string;
  readonly snapshot?: string;
}

export type ProvisioningState = 'Creating' | 'Updating' | 'Succeeded' | 'Failed' | 'Deleting';

export interface StoredResource {
  readonly id: string;
  readonly name: string;
  readonly type: ResourceKind;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  location: string;
  tags: Record<string, string>;
  sku?: unknown;
  /** The resource's `properties` as the client sent them, before the server's own fields. */
  properties: Record<string, unknown>;
  provisioningState: ProvisioningState;
  readonly uniqueId: string;
  timeCreated: Date;
  /** Disks and snapshots: the bytes. */
  data?: DataLocation;
  /** Disks and snapshots: length of the page blob (a fixed VHD: the disk plus its 512-byte footer). */
  sizeBytes?: number;
  /** Disks: Unattached, Attached, ReadyToUpload, ActiveUpload, ActiveSAS. */
  diskState?: string;
  /** Disks: the VM that references it. */
  managedBy?: string;
  /** Snapshots: the uniqueId of the disk they were taken of (limits count per source disk). */
  sourceDiskUniqueId?: string;
  incremental?: boolean;
}

export class ResourceStore {
  private readonly byId = new Map<string, StoredResource>();

  get(id: string): StoredResource | undefined {
    return this.byId.get(id.toLowerCase());
  }

  put(resource: StoredResource): void {
    this.byId.set(resource.id.toLowerCase(), resource);
  }

  delete(id: string): void {
    this.byId.delete(id.toLowerCase());
  }

  all(): StoredResource[] {
    return [...this.byId.values()];
  }

  list(subscriptionId: string, type: ResourceKind, resourceGroup?: string): StoredResource[] {
    return this.all()
      .filter(
        (r) =>
          r.type === type &&
          r.subscriptionId.toLowerCase() === subscriptionId.toLowerCase() &&
          (resourceGroup === undefined || r.resourceGroup.toLowerCase() === resourceGroup.toLowerCase()),
      )
      .sort((a, b) => a.id.localeCompare(b.id));
  }
}
