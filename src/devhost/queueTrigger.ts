/**
 * Storage-queue triggers, following the WebJobs queue listener: messages are fetched in batches
 * of `batchSize` under a lease (the visibility timeout of the dequeue), a new batch when no more
 * than `newBatchThreshold` are still running; an empty queue is polled with randomized
 * exponential back-off from 100 ms up to `maxPollingInterval` (a message this host itself adds
 * wakes the listener at once); a long handler has its lease renewed at half-time. The handler
 * gets the decoded message (host.json `messageEncoding`) and triggerMetadata with DequeueCount,
 * Id, PopReceipt, InsertionTime, ExpirationTime, NextVisibleTime. On success the message is
 * deleted; on failure it becomes visible again after `visibilityTimeout`, and once it failed
 * `maxDequeueCount` times it is moved to `<queue>-poison`.
 */
import type { DequeuedMessageItem, QueueClient } from '@azure/storage-queue';
import { errorMessage } from './errors';
import type { IndexedFunction } from './functionIndex';
import type { HostLogger, InvocationRequest, InvocationResult, RpcTypedData } from './hostTypes';
import type { QueuesOptions } from './settings';
import { decodeQueueMessage, isNotFound, queueServiceFor } from './storage';

export const MIN_POLLING_INTERVAL_IN_MS = 100;
/** The lease a dequeued message is held under (the host's 10 minutes), renewed at half-time. */
export const DEFAULT_MESSAGE_LEASE_IN_MS = 10 * 60_000;
export const POISON_SUFFIX = '-poison';

export interface QueueListenerOptions {
  fn: IndexedFunction;
  queues: QueuesOptions;
  invoke(functionName: string, request: InvocationRequest): Promise<InvocationResult>;
  logger: HostLogger;
  /** Defaults to DEFAULT_MESSAGE_LEASE_IN_MS. */
  messageLeaseInMs?: number;
}

/** The next empty-queue wait: doubled with ±20 % jitter, between the minimum and `maximumInMs`. */
export function nextPollingDelayInMs(currentInMs: number, maximumInMs: number, random: () => number = Math.random): number {
  const doubled = Math.max(MIN_POLLING_INTERVAL_IN_MS, currentInMs * 2) * (0.8 + 0.4 * random());
  return Math.min(Math.max(MIN_POLLING_INTERVAL_IN_MS, maximumInMs), Math.max(MIN_POLLING_INTERVAL_IN_MS, doubled));
}

export class QueueListener {
  readonly queueName: string;
  readonly connectionString: string;
  readonly #queue: QueueClient;
  readonly #poison: QueueClient;
  readonly #leaseInMs: number;
  readonly #inFlight = new Set<Promise<void>>();
  #stopped = false;
  #loop?: Promise<void>;
  #timer?: NodeJS.Timeout;
  #wake?: () => void;
  #poisonReady = false;

  constructor(private readonly options: QueueListenerOptions) {
    const { fn } = options;
    this.queueName = String(fn.trigger.queueName);
    this.connectionString = fn.connections[fn.triggerName] as string;
    const service = queueServiceFor(this.connectionString);
    this.#queue = service.getQueueClient(this.queueName);
    this.#poison = service.getQueueClient(`${this.queueName}${POISON_SUFFIX}`);
    this.#leaseInMs = options.messageLeaseInMs ?? DEFAULT_MESSAGE_LEASE_IN_MS;
  }

  start(): void {
    this.#loop = this.#run();
  }

  /** A message was just added to this queue: poll now rather than after the back-off. */
  notify(): void {
    this.#wake?.();
  }

  /** Stops fetching and waits for the messages in hand (their invocations are bounded by the host's drain). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  #log(level: 'information' | 'warning' | 'error', message: string, invocationId?: string): void {
    this.options.logger.log(level, message, { functionName: this.options.fn.name, invocationId });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(this.#timer);
        this.#wake = undefined;
        resolve();
      };
      this.#wake = done;
      this.#timer = setTimeout(done, ms);
    });
  }

  async #run(): Promise<void> {
    const { batchSize, newBatchThreshold, maxPollingIntervalInMs } = this.options.queues;
    let delay = MIN_POLLING_INTERVAL_IN_MS;
    while (!this.#stopped) {
      if (this.#inFlight.size > newBatchThreshold) {
        await Promise.race([...this.#inFlight]);
        continue;
      }
      let messages: DequeuedMessageItem[] = [];
      try {
        const response = await this.#queue.receiveMessages({
          numberOfMessages: batchSize,
          visibilityTimeout: Math.ceil(this.#leaseInMs / 1000),
        });
        messages = response.receivedMessageItems;
      } catch (e) {
        if (!isNotFound(e)) this.#log('warning', `Polling queue '${this.queueName}' failed: ${errorMessage(e)}`);
      }
      if (this.#stopped) {
        // Fetched while stopping: let them reappear at once for the next host.
        await Promise.allSettled(messages.map((m) => this.#queue.updateMessage(m.messageId, m.popReceipt, undefined, 0)));
        break;
      }
      if (messages.length === 0) {
        delay = nextPollingDelayInMs(delay, maxPollingIntervalInMs);
        await this.#sleep(delay);
        continue;
      }
      delay = MIN_POLLING_INTERVAL_IN_MS;
      for (const message of messages) {
        const work = this.#process(message).catch((e: unknown) => this.#log('error', `Message ${message.messageId}: ${errorMessage(e)}`));
        this.#inFlight.add(work);
        void work.finally(() => this.#inFlight.delete(work));
      }
    }
  }

  async #process(message: DequeuedMessageItem): Promise<void> {
    const { fn, queues } = this.options;
    if (message.dequeueCount > queues.maxDequeueCount) {
      await this.#moveToPoison(message, message.popReceipt);
      return;
    }
    let popReceipt = message.popReceipt;
    let renewing: Promise<void> = Promise.resolve();
    const renew = setInterval(() => {
      renewing = renewing
        .then(async () => {
          const r = await this.#queue.updateMessage(message.messageId, popReceipt, undefined, Math.ceil(this.#leaseInMs / 1000));
          if (r.popReceipt) popReceipt = r.popReceipt;
        })
        .catch((e: unknown) => this.#log('warning', `Could not renew the lease of message ${message.messageId}: ${errorMessage(e)}`));
    }, this.#leaseInMs / 2);

    let result: InvocationResult;
    try {
      const data: RpcTypedData = { string: decodeQueueMessage(message.messageText, queues.messageEncoding).toString('utf8') };
      result = await this.options.invoke(fn.name, {
        inputData: [{ name: fn.triggerName, data }],
        triggerMetadata: triggerMetadata(message, popReceipt, data),
      });
    } catch (e) {
      // Only decoding throws here (invoke reports function errors in the result): it counts as a failed attempt.
      this.#log('error', `Message ${message.messageId} on '${this.queueName}' cannot be processed: ${errorMessage(e)}`);
      result = { invocationId: '', outputData: [], error: e instanceof Error ? e : new Error(String(e)) };
    } finally {
      clearInterval(renew);
      await renewing;
    }

    if (!result.error) {
      await this.#queue.deleteMessage(message.messageId, popReceipt);
    } else if (message.dequeueCount >= queues.maxDequeueCount) {
      await this.#moveToPoison(message, popReceipt, result.invocationId);
    } else {
      await this.#queue.updateMessage(message.messageId, popReceipt, undefined, Math.round(queues.visibilityTimeoutInMs / 1000));
    }
  }

  async #moveToPoison(message: DequeuedMessageItem, popReceipt: string, invocationId?: string): Promise<void> {
    const poisonName = `${this.queueName}${POISON_SUFFIX}`;
    this.#log(
      'warning',
      `Message has reached MaxDequeueCount of ${this.options.queues.maxDequeueCount}. Moving message ${message.messageId} to queue '${poisonName}'.`,
      invocationId || undefined,
    );
    if (!this.#poisonReady) {
      await this.#poison.createIfNotExists();
      this.#poisonReady = true;
    }
    await this.#poison.sendMessage(message.messageText);
    await this.#queue.deleteMessage(message.messageId, popReceipt);
  }
}

function triggerMetadata(message: DequeuedMessageItem, popReceipt: string, data: RpcTypedData): Record<string, RpcTypedData> {
  return {
    QueueTrigger: data,
    DequeueCount: { int: message.dequeueCount },
    Id: { string: message.messageId },
    PopReceipt: { string: popReceipt },
    InsertionTime: { json: JSON.stringify(message.insertedOn.toISOString()) },
    ExpirationTime: { json: JSON.stringify(message.expiresOn.toISOString()) },
    NextVisibleTime: { json: JSON.stringify(message.nextVisibleOn.toISOString()) },
  };
}
