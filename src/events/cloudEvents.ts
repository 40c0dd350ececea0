/**
 * Job events (CONTRACT.md "Job events"): CloudEvents 1.0 in structured JSON mode, one per queue
 * message on the events queue.
 *
 *   { "specversion": "1.0", "id": "<uuid>", "source": "/deltavault/<app name>",
 *     "type": "deltavault.backup.succeeded", "subject": "<diskKey>", "time": "<ISO 8601 UTC>",
 *     "datacontenttype": "application/json",
 *     "data": { "jobId": "…", "diskKey": "…", "recoveryPointId": "…" } }
 *
 * - `id` is a name-based UUID (version 8, from SHA-256, RFC 9562 §5.8) of the disk key, job id,
 *   type and an optional step key: an activity that is retried emits the same id again, so the
 *   consumer sees a retried step once. Two events of one type in one job need different steps.
 * - `source` is `/deltavault/<app name>`, the app name being the Function App's
 *   (`WEBSITE_SITE_NAME`, set by Azure), else `deltavault`.
 * - `data` has one zod schema per type (`eventDataSchemas`), used both when an event is built
 *   and when the consumer reads one, so producer and consumer cannot drift apart.
 *
 * No key, SAS token or connection string ever enters an event: free text (an error's message,
 * a skip reason) is scrubbed with `redactSecrets` (which also knows the app's registered
 * connection values) before it is cut to length; identifiers (snapshot ids, restore targets,
 * policy names…) that look like they carry one are refused. Unknown data members are dropped.
 * Validation messages never quote the value they refuse.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { diskKeySchema, jobIdSchema, recoveryPointIdSchema } from '../vault/idSchemas';
import { redactSecrets } from '../config/secrets';
import { DeltavaultError, errors } from '../errors';

export const CLOUDEVENTS_SPEC_VERSION = '1.0';
export const EVENT_CONTENT_TYPE = 'application/json';
export const DEFAULT_APP_NAME = 'deltavault';

/** Every event type of CONTRACT.md, named once. */
export const EVENT_TYPES = {
  backupStarted: 'deltavault.backup.started',
  backupSkipped: 'deltavault.backup.skipped',
  snapshotCreated: 'deltavault.snapshot.created',
  recoveryPointCreated: 'deltavault.recoverypoint.created',
  backupSucceeded: 'deltavault.backup.succeeded',
  backupFailed: 'deltavault.backup.failed',
  pruneCompleted: 'deltavault.prune.completed',
  restoreStarted: 'deltavault.restore.started',
  restoreSucceeded: 'deltavault.restore.succeeded',
  restoreFailed: 'deltavault.restore.failed',
  verifyCompleted: 'deltavault.verify.completed',
} as const;

export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];
export const ALL_EVENT_TYPES = Object.values(EVENT_TYPES) as readonly EventType[];

/** Longest free text (an error message, a skip reason) an event carries, after redaction. */
export const MAX_TEXT_CHARS = 2000;
/** Most recovery point ids one `prune.completed` names, and most bad blocks one `verify.completed` lists. */
export const MAX_LISTED = 1000;

// ------------------------------------------------------------------------------- field schemas

const SECRET_PROBLEM = 'must not carry a key, SAS token or connection string';
const noSecret = (s: string): boolean => redactSecrets(s) === s;
/** An identifier or name: short, and never anything that looks like a secret. */
const identifier = z.string().min(1).max(1024).refine(noSecret, { error: SECRET_PROBLEM });
/** Text for people: scrubbed of secrets, then cut to MAX_TEXT_CHARS (in that order, so no secret is cut in half and missed). */
const freeText = z
  .string()
  .transform((s) => {
    const clean = redactSecrets(s);
    return clean.length <= MAX_TEXT_CHARS ? clean : `${clean.slice(0, MAX_TEXT_CHARS - 1)}…`;
  });
const byteCount = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** An error as events carry it: deltavault's stable code and a message scrubbed of secrets. */
export const eventErrorSchema = z.object({
  code: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, { error: 'must be an error code such as STORAGE_FAILED' }),
  message: freeText,
});
export type EventError = z.output<typeof eventErrorSchema>;

/** A restore target, as POST /api/restores names it (plus the account, for another account than the vault's). */
export const restoreTargetSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('pageBlob'),
    container: identifier,
    blob: identifier,
    /** The blob service URL, when not the vault account's (no query string). */
    account: identifier.optional(),
  }),
  z.object({
    kind: z.literal('managedDisk'),
    resourceGroup: identifier,
    name: identifier,
    subscriptionId: identifier.optional(),
  }),
]);
export type RestoreTargetData = z.output<typeof restoreTargetSchema>;

const jobFields = { jobId: jobIdSchema, diskKey: diskKeySchema };

/** Every recovery point an event names belongs to the event's disk. */
function ownedPoints(data: { diskKey: string; recoveryPointId?: string; deleted?: string[] }, ctx: z.RefinementCtx): void {
  const owned = (id: string): boolean => id.startsWith(`${data.diskKey}.`);
  if (data.recoveryPointId !== undefined && !owned(data.recoveryPointId)) {
    ctx.addIssue({ code: 'custom', path: ['recoveryPointId'], message: "must be a recovery point of the event's disk" });
  }
  for (const [i, id] of (data.deleted ?? []).entries()) {
    if (!owned(id)) ctx.addIssue({ code: 'custom', path: ['deleted', i], message: "must be a recovery point of the event's disk" });
  }
}

/** The `data` of each event type (CONTRACT.md's table). */
export const eventDataSchemas = {
  [EVENT_TYPES.backupStarted]: z.object({ ...jobFields, policy: identifier.max(128), trigger: z.enum(['schedule', 'http']) }),
  [EVENT_TYPES.backupSkipped]: z.object({ ...jobFields, reason: freeText }),
  [EVENT_TYPES.snapshotCreated]: z.object({ ...jobFields, snapshotId: identifier }),
  [EVENT_TYPES.recoveryPointCreated]: z
    .object({
      ...jobFields,
      recoveryPointId: recoveryPointIdSchema,
      bytesChanged: byteCount,
      bytesCleared: byteCount,
      bytesTransferred: byteCount,
      durationMs: byteCount,
    })
    .superRefine(ownedPoints),
  [EVENT_TYPES.backupSucceeded]: z.object({ ...jobFields, recoveryPointId: recoveryPointIdSchema }).superRefine(ownedPoints),
  [EVENT_TYPES.backupFailed]: z.object({ ...jobFields, error: eventErrorSchema }),
  [EVENT_TYPES.pruneCompleted]: z
    .object({ ...jobFields, deleted: z.array(recoveryPointIdSchema).max(MAX_LISTED), kept: byteCount })
    .superRefine(ownedPoints),
  [EVENT_TYPES.restoreStarted]: z
    .object({ ...jobFields, recoveryPointId: recoveryPointIdSchema, target: restoreTargetSchema })
    .superRefine(ownedPoints),
  [EVENT_TYPES.restoreSucceeded]: z
    .object({ ...jobFields, recoveryPointId: recoveryPointIdSchema, target: restoreTargetSchema, bytesWritten: byteCount })
    .superRefine(ownedPoints),
  [EVENT_TYPES.restoreFailed]: z
    .object({ ...jobFields, recoveryPointId: recoveryPointIdSchema, target: restoreTargetSchema, error: eventErrorSchema })
    .superRefine(ownedPoints),
  [EVENT_TYPES.verifyCompleted]: z
    .object({
      ...jobFields,
      recoveryPointId: recoveryPointIdSchema,
      ok: z.boolean(),
      badBlocks: z.array(z.number().int().nonnegative()).max(MAX_LISTED),
      /** Set when the verify could not finish (the point vanished, its hash list is damaged): then ok is false. */
      error: eventErrorSchema.optional(),
    })
    .superRefine(ownedPoints)
    .refine((d) => d.ok === (d.badBlocks.length === 0 && d.error === undefined), {
      error: 'ok must be true exactly when badBlocks is empty and there is no error',
      path: ['ok'],
    }),
} satisfies Record<EventType, z.ZodType>;

type DataSchemas = typeof eventDataSchemas;
/** What a producer passes as an event's data. */
export type EventDataInput<T extends EventType> = z.input<DataSchemas[T]>;
/** An event's data, validated. */
export type EventData<T extends EventType> = z.output<DataSchemas[T]>;

export interface CloudEvent<T extends EventType = EventType> {
  specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  id: string;
  source: string;
  type: T;
  /** The disk key. */
  subject: string;
  /** ISO 8601, UTC, milliseconds (`2024-03-05T07:08:09.010Z`). */
  time: string;
  datacontenttype: typeof EVENT_CONTENT_TYPE;
  data: EventData<T>;
}

/** Any job event, discriminated by `type`. */
export type JobEvent = { [T in EventType]: CloudEvent<T> }[EventType];

// ------------------------------------------------------------------------------- ids, source

/** Event ids: CloudEvents allows any string; deltavault's are UUIDs, and the consumer keys table rows by them. */
const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const STEP = /^[A-Za-z0-9._:-]{0,128}$/;
const APP_NAME = /^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$/;
const SOURCE = /^\/deltavault\/[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$/;

/**
 * The event id of one step of one job: a UUID (version 8, SHA-256 name-based) of the disk key,
 * job id, type and step key, so every retry of the step gets the same id.
 */
export function eventId(diskKey: string, jobId: string, type: EventType, step = ''): string {
  const hash = createHash('sha256').update(['deltavault-event-v1', diskKey, jobId, type, step].join('\u0000')).digest();
  const b = hash.subarray(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x80; // version 8
  b[8] = ((b[8] as number) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `/deltavault/<app name>`: the Function App's name (`WEBSITE_SITE_NAME`), else `deltavault`. */
export function eventSource(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const site = env.WEBSITE_SITE_NAME?.trim().toLowerCase();
  return `/deltavault/${site && APP_NAME.test(site) ? site : DEFAULT_APP_NAME}`;
}

// ------------------------------------------------------------------------------- build, parse

export interface BuildEventOptions {
  /** Tells apart two events of one type in one job (e.g. a retry round); default '' (one per job). */
  step?: string;
  /** When it happened (default: now). */
  time?: Date;
  /** Default `eventSource()`. */
  source?: string;
}

/**
 * The CloudEvent of `type` for `data`, validated, scrubbed of secrets, with its stable id.
 * Throws INVALID_ARGUMENT (naming each bad field, quoting none) when the data does not fit the type.
 */
export function buildEvent<T extends EventType>(type: T, data: EventDataInput<T>, options: BuildEventOptions = {}): CloudEvent<T> {
  const schema = eventDataSchemas[type] as z.ZodType | undefined;
  if (!schema) throw errors.invalidArgument('job event', 'unknown event type');
  const parsed = schema.safeParse(data);
  if (!parsed.success) throw errors.invalidArgument(`job event ${type}`, describeIssues(parsed.error, 'data'));
  const valid = parsed.data as EventData<T>;
  const step = options.step ?? '';
  if (!STEP.test(step)) throw errors.invalidArgument(`job event ${type}`, "step: must be up to 128 letters, digits, '_', '.', ':' or '-'");
  const source = options.source ?? eventSource();
  if (!SOURCE.test(source)) throw errors.invalidArgument(`job event ${type}`, 'source: must be /deltavault/<app name>');
  const time = options.time ?? new Date();
  if (Number.isNaN(time.getTime())) throw errors.invalidArgument(`job event ${type}`, 'time: must be a valid date');
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: eventId(valid.diskKey, valid.jobId, type, step),
    source,
    type,
    subject: valid.diskKey,
    time: time.toISOString(),
    datacontenttype: EVENT_CONTENT_TYPE,
    data: valid,
  };
}

/** The error of a failed step, for a `.failed` event: deltavault's code and message, or INTERNAL_ERROR and the message. Scrubbed by the schema. */
export function eventError(e: unknown): { code: string; message: string } {
  if (e instanceof DeltavaultError) return { code: e.code, message: e.message };
  if (e instanceof Error) return { code: 'INTERNAL_ERROR', message: `${e.name}: ${e.message}` };
  return { code: 'INTERNAL_ERROR', message: String(e) };
}

const envelopeSchema = z.looseObject({
  specversion: z.literal(CLOUDEVENTS_SPEC_VERSION, { error: 'must be "1.0"' }),
  id: z.string().regex(EVENT_ID, { error: "must be 1-128 letters, digits, '_', '.', ':' or '-'" }),
  source: z.string().regex(SOURCE, { error: 'must be /deltavault/<app name>' }),
  type: z.enum(ALL_EVENT_TYPES as [EventType, ...EventType[]], { error: 'must be one of the deltavault.* event types' }),
  subject: diskKeySchema,
  time: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time' }),
  datacontenttype: z.literal(EVENT_CONTENT_TYPE, { error: 'must be "application/json"' }).optional(),
  data: z.looseObject({}, { error: 'must be the event data, a JSON object' }),
});

/**
 * A job event from a queue message: the message text (or the object the Functions runtime
 * parsed it into, or its bytes). Extension attributes are tolerated and dropped. Throws
 * INVALID_ARGUMENT with every problem (never the value) when it is not JSON, not a CloudEvent,
 * not one of deltavault's types, or its data does not fit its type.
 */
export function parseJobEvent(message: unknown): JobEvent {
  let value = message;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) value = Buffer.from(value).toString('utf8');
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      throw errors.invalidArgument('job event', 'the message is not JSON (a CloudEvent in structured JSON mode is expected)');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw errors.invalidArgument('job event', 'the message is not a JSON object (a CloudEvent in structured JSON mode is expected)');
  }
  const envelope = envelopeSchema.safeParse(value);
  if (!envelope.success) throw errors.invalidArgument('job event', describeIssues(envelope.error));
  const { id, type, source, subject, time } = envelope.data;
  const data = (eventDataSchemas[type] as z.ZodType).safeParse(envelope.data.data);
  if (!data.success) throw errors.invalidArgument(`job event ${id} (${type})`, describeIssues(data.error, 'data'));
  const valid = data.data as { diskKey: string };
  if (valid.diskKey !== subject) throw errors.invalidArgument(`job event ${id} (${type})`, 'subject: must be the disk key of data.diskKey');
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id,
    source,
    type,
    subject,
    time: new Date(time).toISOString(),
    datacontenttype: EVENT_CONTENT_TYPE,
    data: valid,
  } as JobEvent;
}

/** `a.b: problem; c: problem`, from zod's issues (whose messages never quote the input). */
function describeIssues(error: z.ZodError, prefix?: string): string {
  return error.issues
    .map((issue) => {
      const path = [...(prefix ? [prefix] : []), ...issue.path.map(String)].join('.');
      return `${path || '(the event)'}: ${issue.message}`;
    })
    .join('; ');
}
