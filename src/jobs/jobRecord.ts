/**
 * A job's history as a pure fold over its events. The state keeps the ids of the events seen
 * and, per event type, one event (the latest by `time`, then by id, should a type come twice);
 * the job record is derived from that state alone. So the record depends only on the *set* of
 * events: duplicates change nothing, and any delivery order gives the same record.
 *
 * Status: a backup is `failed` once `backup.failed` was seen, else `succeeded` once
 * `backup.succeeded` was, else `skipped` once `backup.skipped` was, else `running`; a restore
 * likewise with `restore.failed` / `restore.succeeded`; a verify is `succeeded` when
 * `verify.completed` says `ok`, `failed` when it lists bad blocks or an error. Times are the events' own:
 * `startedAt` is the `*.started` event's time (else the earliest event's), `endedAt` the
 * deciding event's, `updatedAt` the latest event's.
 */
import { errors } from '../errors';
import { EVENT_TYPES, type EventData, type EventType, type JobEvent, type RestoreTargetData } from '../events/cloudEvents';

export const JOB_KINDS = ['backup', 'restore', 'verify'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATUSES = ['running', 'succeeded', 'failed', 'skipped'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const KIND_OF: Record<EventType, JobKind> = {
  [EVENT_TYPES.backupStarted]: 'backup',
  [EVENT_TYPES.backupSkipped]: 'backup',
  [EVENT_TYPES.snapshotCreated]: 'backup',
  [EVENT_TYPES.recoveryPointCreated]: 'backup',
  [EVENT_TYPES.backupSucceeded]: 'backup',
  [EVENT_TYPES.backupFailed]: 'backup',
  [EVENT_TYPES.pruneCompleted]: 'backup',
  [EVENT_TYPES.restoreStarted]: 'restore',
  [EVENT_TYPES.restoreSucceeded]: 'restore',
  [EVENT_TYPES.restoreFailed]: 'restore',
  [EVENT_TYPES.verifyCompleted]: 'verify',
};

export function jobKindOf(type: EventType): JobKind {
  return KIND_OF[type];
}

export interface StoredEvent<T extends EventType = EventType> {
  id: string;
  time: string;
  data: EventData<T>;
}

/** What is kept of a job: enough to derive its record, and nothing that depends on arrival order. */
export interface JobState {
  diskKey: string;
  jobId: string;
  kind: JobKind;
  /** Sorted. */
  eventIds: string[];
  events: { [T in EventType]?: StoredEvent<T> };
}

/** A job as GET /api/jobs shows it. Fields after `events` appear when the job's events carried them. */
export interface JobRecord {
  jobId: string;
  diskKey: string;
  kind: JobKind;
  status: JobStatus;
  startedAt: string;
  endedAt?: string;
  updatedAt: string;
  /** The events seen (one per type), in time order. */
  events: { type: EventType; id: string; time: string }[];
  trigger?: 'schedule' | 'http';
  policy?: string;
  reason?: string;
  snapshotId?: string;
  recoveryPointId?: string;
  bytesChanged?: number;
  bytesCleared?: number;
  bytesTransferred?: number;
  durationMs?: number;
  prune?: { deleted: string[]; kept: number };
  target?: RestoreTargetData;
  bytesWritten?: number;
  verify?: { ok: boolean; badBlocks: number[] };
  error?: { code: string; message: string };
}

/** The state of a job with no events yet, for the job `event` belongs to. */
export function emptyJobState(event: JobEvent): JobState {
  return { diskKey: event.data.diskKey, jobId: event.data.jobId, kind: jobKindOf(event.type), eventIds: [], events: {} };
}

/** `a` is later than `b`: by time, then (for equal times) by id. */
function later(a: { time: string; id: string }, b: { time: string; id: string }): boolean {
  return a.time !== b.time ? a.time > b.time : a.id > b.id;
}

/**
 * The state after `event`. Unchanged (the same object) for an event already seen. Throws
 * INVALID_ARGUMENT for an event of another job, or of another kind than the job's (a backup
 * event for a restore's job id): no order of delivery could make that right.
 */
export function addEvent(state: JobState, event: JobEvent): JobState {
  if (event.data.diskKey !== state.diskKey || event.data.jobId !== state.jobId) {
    throw errors.invalidArgument(`job event ${event.id}`, `belongs to job '${event.data.jobId}' of disk '${event.data.diskKey}', not to job '${state.jobId}' of disk '${state.diskKey}'`);
  }
  const kind = jobKindOf(event.type);
  if (kind !== state.kind) {
    throw errors.invalidArgument(
      `job event ${event.id} (${event.type})`,
      `is a ${kind} event, but job '${state.jobId}' of disk '${state.diskKey}' is a ${state.kind} job`,
    );
  }
  if (state.eventIds.includes(event.id)) return state;
  const eventIds = [...state.eventIds, event.id].sort();
  const current = state.events[event.type];
  const stored = { id: event.id, time: event.time, data: event.data };
  const events = current && !later(stored, current) ? state.events : { ...state.events, [event.type]: stored };
  return { ...state, eventIds, events };
}

/** The job record of a state (pure; depends on nothing but the state). */
export function deriveJob(state: JobState): JobRecord {
  const e = state.events;
  const seen = (Object.entries(e) as [EventType, StoredEvent][])
    .map(([type, ev]) => ({ type, id: ev.id, time: ev.time }))
    .sort((a, b) => (a.time !== b.time ? (a.time < b.time ? -1 : 1) : a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  const times = seen.map((s) => s.time);
  const first = times[0] ?? new Date(0).toISOString();
  const last = times[times.length - 1] ?? first;

  let status: JobStatus = 'running';
  let deciding: StoredEvent | undefined;
  let started: StoredEvent | undefined;
  switch (state.kind) {
    case 'backup':
      started = e[EVENT_TYPES.backupStarted];
      deciding = e[EVENT_TYPES.backupFailed] ?? e[EVENT_TYPES.backupSucceeded] ?? e[EVENT_TYPES.backupSkipped];
      status = e[EVENT_TYPES.backupFailed] ? 'failed' : e[EVENT_TYPES.backupSucceeded] ? 'succeeded' : e[EVENT_TYPES.backupSkipped] ? 'skipped' : 'running';
      break;
    case 'restore':
      started = e[EVENT_TYPES.restoreStarted];
      deciding = e[EVENT_TYPES.restoreFailed] ?? e[EVENT_TYPES.restoreSucceeded];
      status = e[EVENT_TYPES.restoreFailed] ? 'failed' : e[EVENT_TYPES.restoreSucceeded] ? 'succeeded' : 'running';
      break;
    case 'verify': {
      deciding = e[EVENT_TYPES.verifyCompleted];
      const verified = e[EVENT_TYPES.verifyCompleted];
      status = verified ? (verified.data.ok ? 'succeeded' : 'failed') : 'running';
      break;
    }
  }

  const record: JobRecord = {
    jobId: state.jobId,
    diskKey: state.diskKey,
    kind: state.kind,
    status,
    startedAt: started?.time ?? first,
    ...(deciding ? { endedAt: deciding.time } : {}),
    updatedAt: last,
    events: seen,
  };

  const backupStarted = e[EVENT_TYPES.backupStarted];
  if (backupStarted) Object.assign(record, { trigger: backupStarted.data.trigger, policy: backupStarted.data.policy });
  const skipped = e[EVENT_TYPES.backupSkipped];
  if (skipped) record.reason = skipped.data.reason;
  const snapshot = e[EVENT_TYPES.snapshotCreated];
  if (snapshot) record.snapshotId = snapshot.data.snapshotId;
  const point = e[EVENT_TYPES.recoveryPointCreated];
  if (point) {
    const { recoveryPointId, bytesChanged, bytesCleared, bytesTransferred, durationMs } = point.data;
    Object.assign(record, { recoveryPointId, bytesChanged, bytesCleared, bytesTransferred, durationMs });
  }
  const succeeded = e[EVENT_TYPES.backupSucceeded];
  if (succeeded) record.recoveryPointId = succeeded.data.recoveryPointId;
  const pruned = e[EVENT_TYPES.pruneCompleted];
  if (pruned) record.prune = { deleted: pruned.data.deleted, kept: pruned.data.kept };

  // A restore's fields: the latest of its events that names the point and the target.
  const restore = [e[EVENT_TYPES.restoreStarted], e[EVENT_TYPES.restoreSucceeded], e[EVENT_TYPES.restoreFailed]]
    .filter((x): x is StoredEvent<typeof EVENT_TYPES.restoreStarted> => x !== undefined)
    .reduce<StoredEvent<typeof EVENT_TYPES.restoreStarted> | undefined>((a, b) => (a === undefined || later(b, a) ? b : a), undefined);
  if (restore) Object.assign(record, { recoveryPointId: restore.data.recoveryPointId, target: restore.data.target });
  const restored = e[EVENT_TYPES.restoreSucceeded];
  if (restored) record.bytesWritten = restored.data.bytesWritten;

  const verified = e[EVENT_TYPES.verifyCompleted];
  if (verified) Object.assign(record, { recoveryPointId: verified.data.recoveryPointId, verify: { ok: verified.data.ok, badBlocks: verified.data.badBlocks } });

  const failed = e[EVENT_TYPES.backupFailed] ?? e[EVENT_TYPES.restoreFailed];
  if (failed) record.error = failed.data.error;
  if (verified?.data.error) record.error = verified.data.error;
  return record;
}

/** Newest first: by `startedAt`, then job id, then disk key (descending). */
export function newestFirst(a: JobRecord, b: JobRecord): number {
  if (a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? 1 : -1;
  if (a.jobId !== b.jobId) return a.jobId < b.jobId ? 1 : -1;
  return a.diskKey < b.diskKey ? 1 : a.diskKey > b.diskKey ? -1 : 0;
}
