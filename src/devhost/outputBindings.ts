/**
 * Output bindings the host writes after a successful invocation: storage queues
 * (`output.storageQueue`, as the return value or an extra output). A value that is an array
 * becomes one message per element, as with the Functions host; objects are written as JSON,
 * bytes as bytes, in the host.json message encoding. The queue is created on first use.
 */
import type { QueueClient } from '@azure/storage-queue';
import { devhostErrors } from './errors';
import type { IndexedFunction } from './functionIndex';
import type { RpcTypedData } from './hostTypes';
import { encodeQueueMessage, queueServiceFor, type MessageEncoding } from './storage';

const RETURN_BINDING = '$return';

type Content = string | Uint8Array;

function fromJsonValue(value: unknown): Content[] {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap((v) => (typeof v === 'string' ? [v] : v === null || v === undefined ? [] : [JSON.stringify(v)]));
  return [typeof value === 'string' ? value : JSON.stringify(value)];
}

/** The messages one output value stands for. */
export function queueMessagesFrom(data: RpcTypedData | null | undefined): Content[] {
  if (!data) return [];
  const extended = data as RpcTypedData & {
    collectionString?: { string?: string[] | null } | null;
    collectionBytes?: { bytes?: Uint8Array[] | null } | null;
  };
  if (typeof data.string === 'string') return [data.string];
  if (typeof data.json === 'string') {
    const parsed: unknown = JSON.parse(data.json);
    return Array.isArray(parsed) ? fromJsonValue(parsed) : [data.json];
  }
  if (data.bytes) return [data.bytes];
  if (typeof data.int === 'number' || typeof data.double === 'number') return [String(data.int ?? data.double)];
  if (extended.collectionString?.string) return extended.collectionString.string;
  if (extended.collectionBytes?.bytes) return extended.collectionBytes.bytes;
  return [];
}

export interface OutputWriterOptions {
  messageEncoding: MessageEncoding;
  /** Told after messages were added to a queue, so a listener on it polls at once. */
  onMessagesAdded?: (queueName: string, connectionString: string) => void;
}

export class OutputWriter {
  readonly #created = new Set<string>();

  constructor(private readonly options: OutputWriterOptions) {}

  async #queue(connectionString: string, queueName: string): Promise<QueueClient> {
    const client = queueServiceFor(connectionString).getQueueClient(queueName);
    const key = `${client.url}`;
    if (!this.#created.has(key)) {
      await client.createIfNotExists();
      this.#created.add(key);
    }
    return client;
  }

  /** Writes every queue output of an invocation's result. */
  async write(
    fn: IndexedFunction,
    result: { returnValue?: RpcTypedData | null; outputData: { name: string; data: RpcTypedData }[] },
  ): Promise<void> {
    for (const [bindingName, binding] of Object.entries(fn.bindings)) {
      if (binding.direction !== 'out' || String(binding.type).toLowerCase() !== 'queue') continue;
      const data = bindingName === RETURN_BINDING ? result.returnValue : result.outputData.find((o) => o.name === bindingName)?.data;
      let messages: Content[];
      try {
        messages = queueMessagesFrom(data);
      } catch (e) {
        throw devhostErrors.outputBindingFailed(fn.name, bindingName, e);
      }
      if (messages.length === 0) continue;
      const queueName = String(binding.queueName);
      const connectionString = fn.connections[bindingName] as string;
      try {
        const queue = await this.#queue(connectionString, queueName);
        for (const message of messages) await queue.sendMessage(encodeQueueMessage(message, this.options.messageEncoding));
      } catch (e) {
        throw devhostErrors.outputBindingFailed(fn.name, bindingName, e);
      }
      this.options.onMessagesAdded?.(queueName, connectionString);
    }
  }
}
