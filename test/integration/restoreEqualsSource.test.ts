/**
 * The central invariant, property-based against a real Azurite, with a page blob as the source
 * (test/support/restoreEqualsSourceProperty.ts): for a random disk history (writes, clears,
 * overwrites across several backups), restoring every retained recovery point yields exactly the
 * bytes of the source snapshot it was taken from — cleared regions included, which must read as
 * zeros. Each chain also starts with a random hash block size and must keep it.
 */
import fc from 'fast-check';
import type { ContainerClient } from '@azure/storage-blob';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import type { DiffFidelity } from '../../src/disks/diskSource';
import { readWhole } from '../support/storage';
import { MiB, PAGE_BYTES, checkRestoreEqualsSource, type DiskKind, type DiskUnderTest } from '../support/restoreEqualsSourceProperty';

const DISK_BYTES = 9 * MiB + 3 * PAGE_BYTES; // three 4 MiB blocks, the last one partial
/** Hash block size of the chain: the default, or one given to its first (full) backup. */
const blockBytesArb = fc.constantFrom(undefined, 128 * 1024, 4 * MiB);

/** A page blob of DISK_BYTES in the history's vault container, its diff trusted as `fidelity` says. */
function pageBlobKind(fidelity: DiffFidelity): DiskKind {
  return {
    name: fidelity,
    diskBytes: DISK_BYTES,
    createDisk: async (run: number, container: ContainerClient): Promise<DiskUnderTest> => {
      const bytes = container.getPageBlobClient(`vm${run}/os.vhd`);
      await bytes.create(DISK_BYTES);
      const source = new PageBlobSource(container, bytes, { diffFidelity: fidelity });
      return { source, bytes, readSnapshot: (snapshot) => readWhole(bytes.withSnapshot(snapshot.id)) };
    },
  };
}

describe('restore of every retained recovery point equals its source snapshot', () => {
  for (const fidelity of ['superset', 'exact'] as const) {
    test(`random disk histories, ${fidelity} diff`, async () => {
      await checkRestoreEqualsSource(pageBlobKind(fidelity), { numRuns: 6, chainBlockBytes: blockBytesArb });
    }, 600_000);
  }
});
