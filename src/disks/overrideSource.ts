/**
 * A disk source with some of its operations replaced: everything not overridden goes to
 * `inner`. Used where the diff comes from elsewhere than the storage service (the benchmark
 * supplies the exact diff Azure would report, which the emulator cannot) and by tests.
 */
import { onePage, type DiskSource } from './diskSource';

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
    allocatedRanges: overrides.allocatedRanges ?? ((id, signal) => inner.allocatedRanges(id, signal)),
    changedRanges: overrides.changedRanges ?? ((prev, id, signal) => inner.changedRanges(prev, id, signal)),
    // A listing overridden whole is also what its pages say.
    allocatedRangePages:
      overrides.allocatedRangePages ??
      (overrides.allocatedRanges ? (id, signal) => onePage(() => (overrides.allocatedRanges as DiskSource['allocatedRanges'])(id, signal)) : (id, signal) => inner.allocatedRangePages(id, signal)),
    changedRangePages:
      overrides.changedRangePages ??
      (overrides.changedRanges
        ? (prev, id, signal) => onePage(() => (overrides.changedRanges as DiskSource['changedRanges'])(prev, id, signal))
        : (prev, id, signal) => inner.changedRangePages(prev, id, signal)),
    openReader: overrides.openReader ?? ((id) => inner.openReader(id)),
  };
}
