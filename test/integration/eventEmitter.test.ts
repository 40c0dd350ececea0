/** Sending job events (src/events/eventEmitter.ts) to a real queue (Azurite): plain JSON text (host.json
 *  messageEncoding none), one message per event, the queue created once, oversized events refused. */
import { EVENT_TYPES, buildEvent, parseJobEvent } from '../../src/events/cloudEvents';
import { MAX_MESSAGE_BYTES, emitEvent } from '../../src/events/eventEmitter';
import { DeltavaultError } from '../../src/errors';
import { testQueue, uniqueQueueName } from '../support/devhost';
import { sampleData, successfulBackup } from '../support/jobEvents';

const T0 = new Date('2024-03-05T07:00:00.000Z');

test('each event is one message of plain JSON that the consumer reads as the same event; the queue is created once', async () => {
  const queue = testQueue(uniqueQueueName('emit'));
  const create = jest.spyOn(queue, 'createIfNotExists');
  const events = successfulBackup('web-data', 'job-1', T0);
  try {
    const sent = [];
    for (const e of events) sent.push(await emitEvent(queue, e));
    expect(sent.map((s) => s.eventId)).toEqual(events.map((e) => e.id));
    expect(create).toHaveBeenCalledTimes(1);

    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    expect(receivedMessageItems).toHaveLength(events.length);
    const texts = receivedMessageItems.map((m) => m.messageText);
    for (const text of texts) expect(text.startsWith('{"specversion":"1.0"')).toBe(true);
    expect(texts.map((t) => parseJobEvent(t)).sort((a, b) => a.time.localeCompare(b.time))).toEqual(events);
    expect(receivedMessageItems.map((m) => m.messageId).sort()).toEqual(sent.map((s) => s.messageId).sort());
  } finally {
    await queue.deleteIfExists();
  }
});

test('a queue deleted after it was created is created again', async () => {
  const queue = testQueue(uniqueQueueName('emit'));
  try {
    const [a, b] = successfulBackup('web-data', 'job-2', T0) as [ReturnType<typeof successfulBackup>[0], ReturnType<typeof successfulBackup>[0]];
    await emitEvent(queue, a);
    await queue.delete();
    await emitEvent(queue, b);
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    expect(receivedMessageItems.map((m) => parseJobEvent(m.messageText).id)).toEqual([b.id]);
  } finally {
    await queue.deleteIfExists();
  }
});

test('what is sent is what the consumer would read: a hand-made event is checked (and scrubbed, cut) again', async () => {
  const queue = testQueue(uniqueQueueName('emit'));
  const event = buildEvent(EVENT_TYPES.backupSkipped, sampleData(EVENT_TYPES.backupSkipped, 'web-data', 'job-3'));
  const handMade = { ...event, data: { ...event.data, reason: `AccountKey=c2VjcmV0c2VjcmV0c2VjcmV0 ${'x'.repeat(MAX_MESSAGE_BYTES)}` } };
  try {
    const sent = await emitEvent(queue, handMade);
    const { receivedMessageItems } = await queue.receiveMessages();
    expect(receivedMessageItems[0]?.messageId).toBe(sent.messageId);
    const text = receivedMessageItems[0]?.messageText ?? '';
    expect(text.length).toBeLessThan(4000);
    expect(text).not.toContain('c2VjcmV0c2VjcmV0c2VjcmV0');
  } finally {
    await queue.deleteIfExists();
  }
});

test('an event too large for a queue message is refused before anything is sent', async () => {
  const queue = testQueue(uniqueQueueName('emit'));
  const diskKey = 'a-disk-key-that-is-rather-long-so-that-ids-are-long-too-x';
  const prune = buildEvent(EVENT_TYPES.pruneCompleted, {
    jobId: 'job-4',
    diskKey,
    deleted: Array.from({ length: 1000 }, (_, i) => `${diskKey}.2024030${1 + (i % 9)}T0${i % 10}0000${String(i).padStart(3, '0')}Z`),
    kept: 2,
  });
  const err = await emitEvent(queue, prune).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeltavaultError);
  expect((err as DeltavaultError).code).toBe('INVALID_ARGUMENT');
  expect((err as DeltavaultError).message).toMatch(/more than a queue message holds \(65536\)/);
  expect(await queue.exists()).toBe(false);
});
