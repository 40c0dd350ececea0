/**
 * A disk source with some of its operations replaced: everything not overridden goes to
 * `inner`. Used where the diff comes from elsewhere than the storage service (the benchmark
 * supplies the exact diff Azure would report, which the emulator cannot) and by tests.
 */
import type { DiskSource } from './diskSource';

export function overrideSource(inner: DiskSource, overrides: Partial<Omit<DiskSource, 'kind' | 'description'>>): DiskSource {
  return {
    kind: inner.kind,
    description: inner.description,
    diffFidelity: overrides.diffFidelity ?? (() => inner.diffFidelity()),
    createSnapshot: overrides.createSnapshot ?? ((jobId) => inner.createSnapshot(jobId)),
    findSnapshot: overrides.findSnapshot ?? ((jobId) => inner.findSnapshot(jobId)),
    listSnapshots: overrides.listSnapshots ?? (() => inner.listSnapshots()),
    getSnapshot: overrides.getSnapshot ?? ((id) => inner.getSnapshot(id)),
    deleteSnapshot: overrides.deleteSnapshot ?? ((id) => inner.deleteSnapshot(id)),
    allocatedRangePages: overrides.allocatedRangePages ?? ((id, signal) => inner.allocatedRangePages(id, signal)),
    changedRangePages: overrides.changedRangePages ?? ((prev, id, signal) => inner.changedRangePages(prev, id, signal)),
    openReader: overrides.openReader ?? ((id) => inner.openReader(id)),
  };
}
