/**
 * The Azurite-backed store. One table per task hub, `<hub>Orchestrations` (distinct from the real
 * Durable Azure Storage provider's `<hub>Instances`/`<hub>History`, so the two never read each
 * other's rows), one partition per instance (PartitionKey = instance id):
 *
 *   RowKey `state`                         the instance record (status, input, output, custom status…)
 *   RowKey `h~<executionId>~<episode:8>`   one row per committed episode: its history events and
 *                                          the inbox keys it consumed
 *   RowKey `m~<message key>`               an unprocessed inbox message (completion, timer, event…)
 *
 * An episode commit is one entity-group transaction in the instance's partition (record + history
 * row + new messages), so it is atomic; consumed messages are deleted afterwards, and recovery
 * deletes any the history rows name as consumed. Payloads too large for a table property
 * (64 KiB) are split over several properties; beyond `INLINE_LIMIT` characters they go to block
 * blobs in `<hub>-dh-payloads` and the row keeps the blob name.
 */
import { odata, TableClient, TransactionAction } from '@azure/data-tables';
import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import type { HistoryEvent } from './historyEvents';
import type { EpisodeCommit, InboxMessage, InstanceRecord, StoredInstance } from './instanceModel';
import type { DurableStore } from './store';

const STATE_ROW = 'state';
const HISTORY_PREFIX = 'h~';
const MESSAGE_PREFIX = 'm~';
/** Characters per string property (a property holds 64 KiB of UTF-16). */
const PART_CHARS = 30_000;
/** Payloads larger than this go to a blob. */
const INLINE_LIMIT = 120_000;
const MAX_BATCH = 100;

type Entity = Record<string, unknown> & { partitionKey: string; rowKey: string };

export interface TableStoreOptions {
  connectionString: string;
  hubName: string;
}

/** Names of the table and container for a hub (valid Azure names for any valid hub name). */
export function storageNames(hubName: string): { table: string; container: string } {
  const alnum = hubName.replace(/[^A-Za-z0-9]/g, '');
  const table = `${/^[A-Za-z]/.test(alnum) ? '' : 't'}${alnum}`.slice(0, 49) + 'Orchestrations';
  const lower = hubName.toLowerCase().replace(/[^a-z0-9-]/g, '').replace(/-+/g, '-').replace(/^-|-$/g, '');
  const container = `${(lower.length > 0 ? lower : 'hub').slice(0, 48)}-dh-payloads`;
  return { table, container };
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { statusCode?: number }).statusCode === 404;
}

export class TableStore implements DurableStore {
  private readonly table: TableClient;
  private readonly container: ContainerClient;
  private containerReady: Promise<unknown> | undefined;

  constructor(options: TableStoreOptions) {
    const names = storageNames(options.hubName);
    this.table = TableClient.fromConnectionString(options.connectionString, names.table, { allowInsecureConnection: true });
    this.container = BlobServiceClient.fromConnectionString(options.connectionString).getContainerClient(names.container);
  }

  async init(): Promise<void> {
    try {
      await this.table.createTable();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 409) throw e;
    }
  }

  async listRecords(): Promise<InstanceRecord[]> {
    const records: InstanceRecord[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`RowKey eq ${STATE_ROW}` },
    })) {
      records.push(await this.toRecord(entity as Entity));
    }
    return records;
  }

  async loadInstance(instanceId: string): Promise<StoredInstance | undefined> {
    const rows = await this.partition(instanceId);
    const stateRow = rows.find((r) => r.rowKey === STATE_ROW);
    if (!stateRow) {
      // Orphans (a message written while the instance was purged): clean up.
      await this.deleteRows(instanceId, rows.map((r) => r.rowKey));
      return undefined;
    }
    const record = await this.toRecord(stateRow);
    const processed = new Set<string>();
    const history: { episode: number; events: HistoryEvent[] }[] = [];
    const staleRows: string[] = [];
    for (const row of rows) {
      if (!row.rowKey.startsWith(HISTORY_PREFIX)) continue;
      const keys = JSON.parse((await this.unpack(row, 'processed')) ?? '[]') as string[];
      for (const k of keys) processed.add(k);
      const [, executionId, episode] = row.rowKey.split('~');
      if (executionId === record.executionId) {
        history.push({ episode: Number(episode), events: JSON.parse((await this.unpack(row, 'events')) ?? '[]') as HistoryEvent[] });
      } else {
        staleRows.push(row.rowKey);
      }
    }
    const inbox: InboxMessage[] = [];
    for (const row of rows) {
      if (!row.rowKey.startsWith(MESSAGE_PREFIX)) continue;
      const key = row.rowKey.slice(MESSAGE_PREFIX.length);
      if (processed.has(key)) {
        staleRows.unshift(row.rowKey); // consumed messages go before the history rows that name them
        continue;
      }
      inbox.push(await this.toMessage(row));
    }
    await this.deleteRows(instanceId, staleRows);
    history.sort((a, b) => a.episode - b.episode);
    inbox.sort((a, b) => a.seq - b.seq);
    return { record, history: history.flatMap((h) => h.events), inbox };
  }

  async loadHistory(instanceId: string, executionId: string): Promise<HistoryEvent[]> {
    const prefix = `${HISTORY_PREFIX}${executionId}~`;
    const chunks: { episode: number; events: HistoryEvent[] }[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({
      queryOptions: {
        filter: odata`PartitionKey eq ${instanceId} and RowKey ge ${prefix} and RowKey lt ${prefix + '\uffff'}`,
      },
    })) {
      const row = entity as Entity;
      chunks.push({
        episode: Number(row.rowKey.split('~')[2]),
        events: JSON.parse((await this.unpack(row, 'events')) ?? '[]') as HistoryEvent[],
      });
    }
    return chunks.sort((a, b) => a.episode - b.episode).flatMap((c) => c.events);
  }

  async createInstance(record: InstanceRecord, messages: InboxMessage[], replacing?: InstanceRecord): Promise<void> {
    if (replacing) {
      const rows = await this.partition(record.instanceId);
      await this.deleteRows(
        record.instanceId,
        rows.filter((r) => r.rowKey !== STATE_ROW).map((r) => r.rowKey),
      );
    }
    const actions: TransactionAction[] = [['upsert', await this.recordEntity(record), 'Replace']];
    for (const m of messages) actions.push(['upsert', await this.messageEntity(record.instanceId, m), 'Replace']);
    await this.submit(actions);
  }

  async enqueue(instanceId: string, message: InboxMessage): Promise<void> {
    await this.table.upsertEntity(await this.messageEntity(instanceId, message), 'Replace');
  }

  async deleteMessages(instanceId: string, keys: readonly string[]): Promise<void> {
    await this.deleteRows(instanceId, keys.map((k) => MESSAGE_PREFIX + k));
  }

  async commitEpisode(instanceId: string, commit: EpisodeCommit): Promise<void> {
    const historyRow: Entity = {
      partitionKey: instanceId,
      rowKey: `${HISTORY_PREFIX}${commit.executionId}~${String(commit.episode).padStart(8, '0')}`,
    };
    await this.pack(historyRow, 'events', JSON.stringify(commit.events), `${commit.executionId}/${commit.episode}-events`);
    await this.pack(historyRow, 'processed', JSON.stringify(commit.processedKeys), `${commit.executionId}/${commit.episode}-processed`);
    const actions: TransactionAction[] = [
      ['upsert', await this.recordEntity(commit.record), 'Replace'],
      ['upsert', historyRow, 'Replace'],
    ];
    for (const m of commit.newMessages) actions.push(['upsert', await this.messageEntity(instanceId, m), 'Replace']);
    await this.submit(actions);
    // The episode is committed. What follows is cleanup that recovery redoes if it is interrupted
    // (the history row names the consumed messages), so a failure here does not undo the commit.
    try {
      await this.deleteRows(
        instanceId,
        commit.processedKeys.map((k) => MESSAGE_PREFIX + k),
      );
      if (commit.record.executionId !== commit.executionId) {
        // continueAsNew: the previous execution's history goes once its consumed messages are gone.
        const rows = await this.partition(instanceId);
        await this.deleteRows(
          instanceId,
          rows.filter((r) => r.rowKey.startsWith(`${HISTORY_PREFIX}${commit.executionId}~`)).map((r) => r.rowKey),
        );
      }
    } catch {
      // left for recovery
    }
  }

  async purge(instanceId: string): Promise<void> {
    const rows = await this.partition(instanceId);
    const state = rows.filter((r) => r.rowKey === STATE_ROW).map((r) => r.rowKey);
    await this.deleteRows(
      instanceId,
      rows.filter((r) => r.rowKey !== STATE_ROW).map((r) => r.rowKey),
    );
    await this.deleteRows(instanceId, state);
    if (await this.container.exists()) {
      for await (const blob of this.container.listBlobsFlat({ prefix: `${encodeURIComponent(instanceId)}/` })) {
        await this.container.deleteBlob(blob.name).catch(() => undefined);
      }
    }
  }

  async close(): Promise<void> {}

  // ---- rows

  private async partition(instanceId: string): Promise<Entity[]> {
    const rows: Entity[] = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${instanceId}` },
    })) {
      rows.push(entity as Entity);
    }
    return rows;
  }

  private async submit(actions: TransactionAction[]): Promise<void> {
    for (let i = 0; i < actions.length; i += MAX_BATCH) {
      const slice = actions.slice(i, i + MAX_BATCH);
      if (slice.length === 1) {
        const [op, entity] = slice[0] as TransactionAction;
        if (op === 'delete') await this.table.deleteEntity(entity.partitionKey, entity.rowKey);
        else await this.table.upsertEntity(entity, 'Replace');
      } else {
        await this.table.submitTransaction(slice);
      }
    }
  }

  /** Deletes rows (missing ones are fine), in transactions of up to 100. */
  private async deleteRows(instanceId: string, rowKeys: readonly string[]): Promise<void> {
    for (let i = 0; i < rowKeys.length; i += MAX_BATCH) {
      const slice = rowKeys.slice(i, i + MAX_BATCH);
      try {
        if (slice.length === 1) await this.table.deleteEntity(instanceId, slice[0] as string);
        else await this.table.submitTransaction(slice.map((rowKey) => ['delete', { partitionKey: instanceId, rowKey }]));
      } catch (e) {
        if (slice.length === 1 && isNotFound(e)) continue;
        // A transaction fails as a whole when one row is already gone: delete one by one.
        for (const rowKey of slice) {
          await this.table.deleteEntity(instanceId, rowKey).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
          });
        }
      }
    }
  }

  private async recordEntity(record: InstanceRecord): Promise<Entity> {
    const entity: Entity = {
      partitionKey: record.instanceId,
      rowKey: STATE_ROW,
      name: record.name,
      executionId: record.executionId,
      runtimeStatus: record.runtimeStatus,
      createdTime: record.createdTime,
      lastUpdatedTime: record.lastUpdatedTime,
      episode: String(record.episode),
      parent: record.parent ? JSON.stringify(record.parent) : '',
    };
    await this.pack(entity, 'input', record.input, `${record.executionId}/input`);
    await this.pack(entity, 'output', record.output, `${record.executionId}/output`);
    await this.pack(entity, 'customStatus', record.customStatus, `${record.executionId}/customStatus`);
    return entity;
  }

  private async toRecord(row: Entity): Promise<InstanceRecord> {
    const record: InstanceRecord = {
      instanceId: row.partitionKey,
      name: String(row.name ?? ''),
      executionId: String(row.executionId ?? ''),
      runtimeStatus: String(row.runtimeStatus ?? 'Pending') as InstanceRecord['runtimeStatus'],
      input: await this.unpack(row, 'input'),
      output: await this.unpack(row, 'output'),
      customStatus: await this.unpack(row, 'customStatus'),
      createdTime: String(row.createdTime ?? ''),
      lastUpdatedTime: String(row.lastUpdatedTime ?? ''),
      episode: Number(row.episode ?? 0),
    };
    if (typeof row.parent === 'string' && row.parent.length > 0) record.parent = JSON.parse(row.parent) as InstanceRecord['parent'];
    return record;
  }

  private async messageEntity(instanceId: string, message: InboxMessage): Promise<Entity> {
    const entity: Entity = {
      partitionKey: instanceId,
      rowKey: MESSAGE_PREFIX + message.key,
      executionId: message.executionId ?? '',
      seq: String(message.seq),
    };
    await this.pack(entity, 'event', JSON.stringify(message.event), `messages/${message.key}`);
    return entity;
  }

  private async toMessage(row: Entity): Promise<InboxMessage> {
    const message: InboxMessage = {
      key: row.rowKey.slice(MESSAGE_PREFIX.length),
      seq: Number(row.seq ?? 0),
      event: JSON.parse((await this.unpack(row, 'event')) ?? 'null') as HistoryEvent,
    };
    if (typeof row.executionId === 'string' && row.executionId.length > 0) message.executionId = row.executionId;
    return message;
  }

  // ---- payloads: `<name>` = part count (-1 for null), `<name>_<i>` = parts, `<name>_blob` = blob name

  private async pack(entity: Entity, name: string, text: string | null, blobSuffix: string): Promise<void> {
    if (text === null) {
      entity[name] = '-1';
      return;
    }
    if (text.length > INLINE_LIMIT) {
      const blobName = `${encodeURIComponent(entity.partitionKey)}/${blobSuffix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.json`;
      await this.ensureContainer();
      await this.container.getBlockBlobClient(blobName).upload(text, Buffer.byteLength(text));
      entity[name] = 'blob';
      entity[`${name}_blob`] = blobName;
      return;
    }
    const parts = Math.max(1, Math.ceil(text.length / PART_CHARS));
    entity[name] = String(parts);
    for (let i = 0; i < parts; i++) entity[`${name}_${i}`] = text.slice(i * PART_CHARS, (i + 1) * PART_CHARS);
  }

  private async unpack(entity: Record<string, unknown>, name: string): Promise<string | null> {
    const marker = entity[name];
    if (marker === undefined || marker === '-1') return null;
    if (marker === 'blob') {
      const blobName = String(entity[`${name}_blob`] ?? '');
      const buffer = await this.container.getBlockBlobClient(blobName).downloadToBuffer();
      return buffer.toString('utf8');
    }
    const parts = Number(marker);
    let text = '';
    for (let i = 0; i < parts; i++) text += String(entity[`${name}_${i}`] ?? '');
    return text;
  }

  private async ensureContainer(): Promise<void> {
    this.containerReady ??= this.container.createIfNotExists();
    await this.containerReady;
  }
}
