/**
 * Sending job events: one CloudEvent per message on the events queue (DELTAVAULT_EVENTS_QUEUE),
 * as plain JSON text. The Functions host reads queue messages with host.json's
 * `extensions.queues.messageEncoding`, which deltavault sets to `none`: no base64.
 *
 * The queue is created on the first send through a client (once per client, and again if it
 * was deleted meanwhile); transient failures are retried by the SDK's retry policy. A failure
 * that is left throws STORAGE_FAILED, so the activity that called `emitEvent` fails and is
 * retried with the same event id. Workflow activities call this, never orchestrator code.
 */
import type { QueueClient } from '@azure/storage-queue';
import { errors, isDeltavaultError, storageCode, storageStatus } from '../errors';
import { parseJobEvent, type CloudEvent, type EventType } from './cloudEvents';

/** The largest message the Queue service takes (64 KiB of text). */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/** Messages never expire (the default is 7 days): an unread event is still job history. */
const NEVER_EXPIRES = -1;

const created = new WeakMap<QueueClient, Promise<void>>();

function ensureQueue(queue: QueueClient): Promise<void> {
  let ready = created.get(queue);
  if (!ready) {
    ready = queue.createIfNotExists().then(
      () => undefined,
      (e: unknown) => {
        created.delete(queue);
        throw errors.storage(`creating the events queue '${queue.name}'`, e);
      },
    );
    created.set(queue, ready);
  }
  return ready;
}

export interface EmittedEvent {
  eventId: string;
  messageId: string;
}

/**
 * Sends `event` (built by `buildEvent`) to `queue`. It is checked again as the consumer will
 * read it, so an event that the consumer would send to the poison queue is never sent.
 */
export async function emitEvent<T extends EventType>(queue: QueueClient, event: CloudEvent<T>): Promise<EmittedEvent> {
  const text = JSON.stringify(parseJobEvent(event));
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_MESSAGE_BYTES) {
    throw errors.invalidArgument(`job event ${event.id} (${event.type})`, `is ${bytes} bytes of JSON, more than a queue message holds (${MAX_MESSAGE_BYTES})`);
  }
  await ensureQueue(queue);
  const send = () => queue.sendMessage(text, { messageTimeToLive: NEVER_EXPIRES });
  try {
    let response;
    try {
      response = await send();
    } catch (e) {
      if (storageStatus(e) !== 404 || storageCode(e) !== 'QueueNotFound') throw e;
      // Deleted since it was created here: create it again, once.
      created.delete(queue);
      await ensureQueue(queue);
      response = await send();
    }
    return { eventId: event.id, messageId: response.messageId };
  } catch (e) {
    if (isDeltavaultError(e)) throw e;
    throw errors.storage(`sending job event ${event.id} (${event.type}) to queue '${queue.name}'`, e);
  }
}
