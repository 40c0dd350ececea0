/**
 * Storage clients for the triggers and bindings (one service client per connection string), the
 * queue message encodings of host.json `extensions.queues.messageEncoding`, and queue-name rules.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';

const queueServices = new Map<string, QueueServiceClient>();
const blobServices = new Map<string, BlobServiceClient>();

export function queueServiceFor(connectionString: string): QueueServiceClient {
  let service = queueServices.get(connectionString);
  if (!service) {
    service = QueueServiceClient.fromConnectionString(connectionString);
    queueServices.set(connectionString, service);
  }
  return service;
}

export function blobServiceFor(connectionString: string): BlobServiceClient {
  let service = blobServices.get(connectionString);
  if (!service) {
    service = BlobServiceClient.fromConnectionString(connectionString);
    blobServices.set(connectionString, service);
  }
  return service;
}

export type MessageEncoding = 'base64' | 'none';

/** The text to store for a message, as the host writes it. */
export function encodeQueueMessage(content: string | Uint8Array, encoding: MessageEncoding): string {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  return encoding === 'base64' ? bytes.toString('base64') : bytes.toString('utf8');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The content of a stored message; throws when base64 is expected and the text is not. */
export function decodeQueueMessage(text: string, encoding: MessageEncoding): Buffer {
  if (encoding === 'none') return Buffer.from(text, 'utf8');
  const compact = text.replace(/\s+/g, '');
  if (!BASE64.test(compact)) {
    throw new Error(
      'the message is not valid base64; host.json extensions.queues.messageEncoding is "base64" (the default), ' +
        'so producers must base64-encode messages (or set it to "none")',
    );
  }
  return Buffer.from(compact, 'base64');
}

/** Queue names as the host normalizes them (lower-cased), or a reason they are invalid. */
export function normalizeQueueName(name: string): { name: string } | { problem: string } {
  const lower = name.trim().toLowerCase();
  if (!/^[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/.test(lower) || lower.length < 3 || lower.length > 63) {
    return {
      problem: `"${name}" is not a valid queue name (3-63 lower-case letters, digits and single dashes, starting and ending with a letter or digit)`,
    };
  }
  return { name: lower };
}

/** Whether a storage call failed because the resource is not there (404). */
export function isNotFound(e: unknown): boolean {
  return (e as { statusCode?: unknown } | null)?.statusCode === 404;
}
