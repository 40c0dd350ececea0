/** Job events for tests: a valid `data` for every event type, and the events of whole jobs. */
import {
  EVENT_TYPES,
  buildEvent,
  type EventDataInput,
  type EventType,
  type JobEvent,
} from '../../src/events/cloudEvents';

/** A recovery point id of `diskKey` (minute `n` of 2024-03-05). */
export function pointOf(diskKey: string, n = 0): string {
  return `${diskKey}.20240305T07${String(n % 60).padStart(2, '0')}09010Z`;
}

/** A valid `data` for each type, for job `jobId` of disk `diskKey`. */
export function sampleData<T extends EventType>(type: T, diskKey: string, jobId: string): EventDataInput<T> {
  const job = { jobId, diskKey };
  const target = { kind: 'pageBlob' as const, container: 'restores', blob: `${diskKey}/restored.vhd` };
  const error = { code: 'STORAGE_FAILED', message: 'writing the vault base blob failed: ServerBusy (HTTP 503)' };
  const all: { [K in EventType]: EventDataInput<K> } = {
    [EVENT_TYPES.backupStarted]: { ...job, policy: 'daily', trigger: 'schedule' },
    [EVENT_TYPES.backupSkipped]: { ...job, reason: 'the previous backup of this disk is still running' },
    [EVENT_TYPES.snapshotCreated]: { ...job, snapshotId: '2024-03-05T07:08:09.0100000Z' },
    [EVENT_TYPES.recoveryPointCreated]: {
      ...job,
      recoveryPointId: pointOf(diskKey, 8),
      bytesChanged: 3 * 1024 * 1024,
      bytesCleared: 512,
      bytesTransferred: 3 * 1024 * 1024,
      durationMs: 1234,
    },
    [EVENT_TYPES.backupSucceeded]: { ...job, recoveryPointId: pointOf(diskKey, 8) },
    [EVENT_TYPES.backupFailed]: { ...job, error },
    [EVENT_TYPES.pruneCompleted]: { ...job, deleted: [pointOf(diskKey, 1)], kept: 2 },
    [EVENT_TYPES.restoreStarted]: { ...job, recoveryPointId: pointOf(diskKey, 8), target },
    [EVENT_TYPES.restoreSucceeded]: { ...job, recoveryPointId: pointOf(diskKey, 8), target, bytesWritten: 4 * 1024 * 1024 },
    [EVENT_TYPES.restoreFailed]: { ...job, recoveryPointId: pointOf(diskKey, 8), target, error },
    [EVENT_TYPES.verifyCompleted]: { ...job, recoveryPointId: pointOf(diskKey, 8), ok: false, badBlocks: [3, 7] },
  };
  return all[type] as EventDataInput<T>;
}

/** The event of `type` for job `jobId` of `diskKey`, at `time`. */
export function sampleEvent(type: EventType, diskKey: string, jobId: string, time: Date, step?: string): JobEvent {
  return buildEvent(type, sampleData(type, diskKey, jobId), { time, ...(step !== undefined ? { step } : {}) }) as JobEvent;
}

/** The events of a successful backup, one second apart from `start`, in the order a job emits them. */
export function successfulBackup(diskKey: string, jobId: string, start: Date): JobEvent[] {
  return [
    EVENT_TYPES.backupStarted,
    EVENT_TYPES.snapshotCreated,
    EVENT_TYPES.recoveryPointCreated,
    EVENT_TYPES.pruneCompleted,
    EVENT_TYPES.backupSucceeded,
  ].map((type, i) => sampleEvent(type, diskKey, jobId, new Date(start.getTime() + i * 1000)));
}

/** The events of a backup that failed after its snapshot. */
export function failedBackup(diskKey: string, jobId: string, start: Date): JobEvent[] {
  return [EVENT_TYPES.backupStarted, EVENT_TYPES.snapshotCreated, EVENT_TYPES.backupFailed].map((type, i) =>
    sampleEvent(type, diskKey, jobId, new Date(start.getTime() + i * 1000)),
  );
}
