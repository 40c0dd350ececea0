/**
 * The job history: what the events consumer keeps of the job events, in a table of the vault
 * account (jobsTable.ts names it), and what GET /api/jobs reads.
 *
 *   PartitionKey  RowKey             entityType  properties
 *   <diskKey>     <jobId>            job         kind, status, startedAt, endedAt?, updatedAt,
 *                                                eventCount, state (the JobState as JSON, over
 *                                                state, state1, state2… when long; stateParts)
 *   <diskKey>     ~event~<eventId>   event       jobId, type, time (one per event applied)
 *
 * Applying an event is one entity-group transaction in the disk's partition: the event's row is
 * created and the job's row created or replaced (ETag-conditional), so an event is recorded as
 * applied exactly when the job shows it. A duplicate (same event id: a retried step, or a
 * message delivered twice) finds its event row and changes nothing. Concurrent events of one job
 * (the queue trigger runs messages in parallel) conflict on the job row's ETag and the loser
 * reads again and retries. The job's record is derived from the set of its events
 * (jobRecord.ts), so delivery order does not matter.
 *
 * A message that is not a valid job event throws INVALID_ARGUMENT: the queue trigger retries it
 * up to `maxDequeueCount` times and then moves it to `<queue>-poison`, where it waits for an
 * operator. Storage failures throw STORAGE_FAILED and are retried the same way.
 */
import { odata, RestError, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { errors, isDeltavaultError, storageStatus } from '../errors';
import { parseJobEvent, type JobEvent } from '../events/cloudEvents';
import { addEvent, deriveJob, emptyJobState, newestFirst, type JobKind, type JobRecord, type JobState, type JobStatus } from './jobRecord';

export const EVENT_ROW_PREFIX = '~event~';
/** Characters per string property (a property holds 64 KiB of UTF-16). */
const PART_CHARS = 30_000;
/** How often an event is retried against concurrent writers of its job before the message is retried later. */
const MAX_ATTEMPTS = 20;

type Row = Record<string, unknown>;

const ready = new WeakMap<TableClient, Promise<void>>();

/** Creates the table on first use (per client). */
function ensureTable(table: TableClient): Promise<void> {
  let p = ready.get(table);
  if (!p) {
    p = table.createTable().then(
      () => undefined,
      (e: unknown) => {
        if (storageStatus(e) === 409) return;
        ready.delete(table);
        throw errors.storage(`creating the job history table '${table.tableName}'`, e);
      },
    );
    ready.set(table, p);
  }
  return p;
}

function isNotFound(e: unknown): boolean {
  return storageStatus(e) === 404;
}

/** A transaction lost to a concurrent writer (an existing row, or a changed ETag). */
function isConflict(e: unknown): boolean {
  const status = storageStatus(e);
  return status === 409 || status === 412 || (e instanceof RestError && /EntityAlreadyExists|UpdateConditionNotSatisfied/.test(e.message));
}

function jobEntity(state: JobState, record: JobRecord): TableEntity<Row> {
  const json = JSON.stringify(state);
  const parts: Row = {};
  const count = Math.max(1, Math.ceil(json.length / PART_CHARS));
  for (let i = 0; i < count; i++) parts[i === 0 ? 'state' : `state${i}`] = json.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
  return {
    partitionKey: state.diskKey,
    rowKey: state.jobId,
    entityType: 'job',
    kind: record.kind,
    status: record.status,
    startedAt: record.startedAt,
    ...(record.endedAt ? { endedAt: record.endedAt } : {}),
    updatedAt: record.updatedAt,
    eventCount: state.eventIds.length,
    stateParts: count,
    ...parts,
  };
}

function stateOf(entity: Row): JobState {
  const count = typeof entity.stateParts === 'number' ? entity.stateParts : 1;
  let json = '';
  for (let i = 0; i < count; i++) {
    const part = entity[i === 0 ? 'state' : `state${i}`];
    if (typeof part !== 'string') throw errors.invalidArgument('job history row', `part ${i} of its state is missing`);
    json += part;
  }
  return JSON.parse(json) as JobState;
}

export interface AppliedEvent {
  event: JobEvent;
  /** False when the event had been applied before (a duplicate). */
  applied: boolean;
  /** The job's record after the event. */
  job: JobRecord;
}

/**
 * Applies one queue message to the job history: validates it (INVALID_ARGUMENT when it is not a
 * job event), skips it if its id was applied before, and otherwise records it and updates its
 * job, atomically. Safe to call concurrently and repeatedly with any messages.
 */
export async function applyEvent(table: TableClient, message: unknown): Promise<AppliedEvent> {
  const event = parseJobEvent(message);
  const { diskKey, jobId } = event.data;
  const eventRowKey = `${EVENT_ROW_PREFIX}${event.id}`;
  await ensureTable(table);
  try {
    for (let attempt = 1; ; attempt++) {
      if (await rowExists(table, diskKey, eventRowKey)) {
        const job = await readJob(table, diskKey, jobId);
        if (!job) throw errors.invalidArgument(`job event ${event.id}`, `was applied, but job '${jobId}' of disk '${diskKey}' is missing from the history`);
        return { event, applied: false, job };
      }
      const current = await getRow(table, diskKey, jobId);
      const before = current ? stateOf(current) : emptyJobState(event);
      const state = addEvent(before, event);
      const job = deriveJob(state);
      const eventRow: TableEntity<Row> = { partitionKey: diskKey, rowKey: eventRowKey, entityType: 'event', jobId, type: event.type, time: event.time };
      const actions: TransactionAction[] = [
        ['create', eventRow],
        current
          ? ['update', jobEntity(state, job), 'Replace', { etag: current.etag as string }]
          : ['create', jobEntity(state, job)],
      ];
      try {
        await table.submitTransaction(actions);
        return { event, applied: true, job };
      } catch (e) {
        if (!isConflict(e) || attempt >= MAX_ATTEMPTS) throw e;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
  } catch (e) {
    if (isDeltavaultError(e)) throw e;
    throw errors.storage(`recording job event ${event.id} (${event.type}) of job '${jobId}'`, e);
  }
}

async function getRow(table: TableClient, partitionKey: string, rowKey: string): Promise<(Row & { etag: string }) | undefined> {
  try {
    return (await table.getEntity<Row>(partitionKey, rowKey)) as Row & { etag: string };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

async function rowExists(table: TableClient, partitionKey: string, rowKey: string): Promise<boolean> {
  try {
    await table.getEntity(partitionKey, rowKey, { queryOptions: { select: ['entityType'] } });
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** One job's record, if the history has it. */
export async function readJob(table: TableClient, diskKey: string, jobId: string): Promise<JobRecord | undefined> {
  try {
    const row = await getRow(table, diskKey, jobId);
    return row && row.entityType === 'job' ? deriveJob(stateOf(row)) : undefined;
  } catch (e) {
    if (isDeltavaultError(e)) throw e;
    throw errors.storage(`reading job '${jobId}' of disk '${diskKey}'`, e);
  }
}

export interface ListJobsOptions {
  /** Only this disk's jobs. */
  disk?: string;
  status?: JobStatus;
  kind?: JobKind;
  /** Only jobs started at or after this time. */
  since?: Date;
  /** At most this many (the newest); default all. */
  limit?: number;
}

/** The jobs that match, newest first (by `startedAt`); [] before the first event made the table. */
export async function listJobs(table: TableClient, options: ListJobsOptions = {}): Promise<JobRecord[]> {
  const filters = [odata`entityType eq ${'job'}`];
  if (options.disk !== undefined) filters.push(odata`PartitionKey eq ${options.disk}`);
  if (options.status !== undefined) filters.push(odata`status eq ${options.status}`);
  if (options.kind !== undefined) filters.push(odata`kind eq ${options.kind}`);
  if (options.since !== undefined) filters.push(odata`startedAt ge ${options.since.toISOString()}`);
  const jobs: JobRecord[] = [];
  try {
    for await (const row of table.listEntities<Row>({ queryOptions: { filter: filters.join(' and ') } })) {
      jobs.push(deriveJob(stateOf(row)));
    }
  } catch (e) {
    if (isNotFound(e)) return [];
    if (isDeltavaultError(e)) throw e;
    throw errors.storage('listing the job history', e);
  }
  jobs.sort(newestFirst);
  return options.limit === undefined ? jobs : jobs.slice(0, options.limit);
}

/** Each disk's newest job (of `kind`, when given), by disk key. */
export async function lastJobPerDisk(table: TableClient, options: { kind?: JobKind } = {}): Promise<Map<string, JobRecord>> {
  const last = new Map<string, JobRecord>();
  for (const job of await listJobs(table, options.kind ? { kind: options.kind } : {})) {
    if (!last.has(job.diskKey)) last.set(job.diskKey, job);
  }
  return last;
}
