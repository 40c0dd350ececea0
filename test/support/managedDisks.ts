/** Managed disks on the ARM test server, and ManagedDiskSources over them, for the integration tests. */
import type { ArmTestServer } from './armServer';
import { ManagedDiskSource, type ManagedDiskSourceOptions } from '../../src/disks/managedDiskSource';
import type { ArmAccess } from '../../src/azure/armAccess';

/** The ArmAccess that points deltavault's Compute client at the test server. */
export function armAccessFor(server: ArmTestServer): ArmAccess {
  return { credential: server.credential, endpoint: server.endpoint, clientOptions: server.clientOptions() };
}

/** An empty managed disk of `gb` GiB (its access URL is gb GiB + the 512-byte VHD footer); returns its id. */
export async function emptyManagedDisk(server: ArmTestServer, resourceGroup: string, name: string, gb: number): Promise<string> {
  const disk = await server
    .client()
    .disks.beginCreateOrUpdateAndWait(resourceGroup, name, { location: 'westeurope', diskSizeGB: gb, creationData: { createOption: 'Empty' } }, server.fastPolling);
  return disk.id as string;
}

/** A source with fast polling and short retry delays. */
export function managedSource(server: ArmTestServer, diskId: string, extra: Partial<ManagedDiskSourceOptions> = {}): ManagedDiskSource {
  return new ManagedDiskSource({ access: armAccessFor(server), diskId, pollIntervalMs: 10, retryDelayMs: 20, ...extra });
}
