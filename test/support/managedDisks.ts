/** Managed disks on the ARM test server, and ManagedDiskSources over them, for the integration tests. */
import { AnonymousCredential, PageBlobClient } from '@azure/storage-blob';
import type { ArmTestServer } from './armServer';
import { readWhole } from './storage';
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

/**
 * A small managed disk: `Upload` of `uploadSizeBytes` (whole MiB + the 512-byte footer, at least
 * 20 MiB + 512), its upload ended at once (Write grant, revoke) so it is Unattached and can be
 * snapshotted. Tests write its bytes through `server.dataOf(id)`, as the VM would.
 */
export async function smallManagedDisk(server: ArmTestServer, resourceGroup: string, name: string, uploadSizeBytes = 20 * 1024 * 1024 + 512): Promise<string> {
  const client = server.client();
  const disk = await client.disks.beginCreateOrUpdateAndWait(
    resourceGroup,
    name,
    { location: 'westeurope', creationData: { createOption: 'Upload', uploadSizeBytes } },
    server.fastPolling,
  );
  await client.disks.beginGrantAccessAndWait(resourceGroup, name, { access: 'Write', durationInSeconds: 60 }, server.fastPolling);
  await client.disks.beginRevokeAccessAndWait(resourceGroup, name, server.fastPolling);
  return disk.id as string;
}

/** A managed disk's whole bytes as a VM would see them: a Read grant, revoked after. */
export async function readManagedDisk(server: ArmTestServer, resourceGroup: string, name: string): Promise<Buffer> {
  const client = server.client();
  const grant = await client.disks.beginGrantAccessAndWait(resourceGroup, name, { access: 'Read', durationInSeconds: 60 }, server.fastPolling);
  try {
    return await readWhole(new PageBlobClient(grant.accessSAS!, new AnonymousCredential()));
  } finally {
    await client.disks.beginRevokeAccessAndWait(resourceGroup, name, server.fastPolling);
  }
}
