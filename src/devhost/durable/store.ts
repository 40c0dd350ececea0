/**
 * Where the engine keeps instances durably. Two implementations: `TableStore` (Azurite tables and
 * blobs, the devhost's) and `MemoryStore` (tests). The contract every implementation keeps:
 * - `createInstance` writes the record and its first messages atomically;
 * - `enqueue` is idempotent by message key;
 * - `commitEpisode` appends the episode's events, replaces the record and enqueues its new messages
 *   atomically, then consumes the processed messages (recovery finishes that if interrupted: the
 *   committed episode lists what it processed);
 * - `loadInstance` returns what was committed: the current execution's history and the
 *   messages no committed episode processed.
 */
import type { HistoryEvent } from './historyEvents';
import type { EpisodeCommit, InboxMessage, InstanceRecord, StoredInstance } from './instanceModel';

export interface DurableStore {
  /** Creates whatever the store needs (tables, containers). */
  init(): Promise<void>;
  /** Every instance record (without history). */
  listRecords(): Promise<InstanceRecord[]>;
  /** The committed state of one instance, or undefined when it does not exist. */
  loadInstance(instanceId: string): Promise<StoredInstance | undefined>;
  /** History of one execution (for status queries of instances not held in memory). */
  loadHistory(instanceId: string, executionId: string): Promise<HistoryEvent[]>;
  /** Creates (or, for a finished instance, replaces) an instance with its first messages. */
  createInstance(record: InstanceRecord, messages: InboxMessage[], replacing?: InstanceRecord): Promise<void>;
  /** Adds a message to an instance's inbox; a second write of the same key replaces the first. */
  enqueue(instanceId: string, message: InboxMessage): Promise<void>;
  /** Drops messages no episode will process (e.g. sent to a finished instance). */
  deleteMessages(instanceId: string, keys: readonly string[]): Promise<void>;
  commitEpisode(instanceId: string, commit: EpisodeCommit): Promise<void>;
  /** Removes an instance and everything it stored. */
  purge(instanceId: string): Promise<void>;
  close(): Promise<void>;
}

/** Deep copy through JSON, so a store never shares objects with the engine. */
export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** An in-memory store (unit tests; survives an engine "crash" within one process). */
export class MemoryStore implements DurableStore {
  private readonly records = new Map<string, InstanceRecord>();
  /** instanceId → executionId → episode → events */
  private readonly histories = new Map<string, Map<string, Map<number, { events: HistoryEvent[]; processed: string[] }>>>();
  private readonly inboxes = new Map<string, Map<string, InboxMessage>>();
  /** Test hook: called before each write; throwing simulates a crash at that point. */
  beforeWrite?: (operation: string, instanceId: string) => void;
  writes = 0;

  async init(): Promise<void> {}

  async listRecords(): Promise<InstanceRecord[]> {
    return [...this.records.values()].map((r) => cloneJson(r));
  }

  async loadInstance(instanceId: string): Promise<StoredInstance | undefined> {
    const record = this.records.get(instanceId);
    if (!record) return undefined;
    const executions = this.histories.get(instanceId);
    const processed = new Set<string>();
    for (const episodes of executions?.values() ?? []) {
      for (const chunk of episodes.values()) for (const k of chunk.processed) processed.add(k);
    }
    const inbox = this.inboxes.get(instanceId);
    for (const key of processed) inbox?.delete(key);
    for (const executionId of [...(executions?.keys() ?? [])]) {
      if (executionId !== record.executionId) executions?.delete(executionId);
    }
    return {
      record: cloneJson(record),
      history: await this.loadHistory(instanceId, record.executionId),
      inbox: [...(inbox?.values() ?? [])].sort((a, b) => a.seq - b.seq).map((m) => cloneJson(m)),
    };
  }

  async loadHistory(instanceId: string, executionId: string): Promise<HistoryEvent[]> {
    const episodes = this.histories.get(instanceId)?.get(executionId);
    if (!episodes) return [];
    return [...episodes.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, chunk]) => cloneJson(chunk.events));
  }

  async createInstance(record: InstanceRecord, messages: InboxMessage[], replacing?: InstanceRecord): Promise<void> {
    this.beforeWrite?.('createInstance', record.instanceId);
    this.writes++;
    if (replacing) {
      this.histories.delete(record.instanceId);
      this.inboxes.delete(record.instanceId);
    }
    this.records.set(record.instanceId, cloneJson(record));
    const inbox = this.inbox(record.instanceId);
    for (const m of messages) inbox.set(m.key, cloneJson(m));
  }

  async enqueue(instanceId: string, message: InboxMessage): Promise<void> {
    this.beforeWrite?.('enqueue', instanceId);
    this.writes++;
    this.inbox(instanceId).set(message.key, cloneJson(message));
  }

  async deleteMessages(instanceId: string, keys: readonly string[]): Promise<void> {
    this.writes++;
    const inbox = this.inboxes.get(instanceId);
    for (const k of keys) inbox?.delete(k);
  }

  async commitEpisode(instanceId: string, commit: EpisodeCommit): Promise<void> {
    this.beforeWrite?.('commitEpisode', instanceId);
    this.writes++;
    let executions = this.histories.get(instanceId);
    if (!executions) {
      executions = new Map();
      this.histories.set(instanceId, executions);
    }
    let episodes = executions.get(commit.executionId);
    if (!episodes) {
      episodes = new Map();
      executions.set(commit.executionId, episodes);
    }
    episodes.set(commit.episode, { events: cloneJson(commit.events), processed: [...commit.processedKeys] });
    this.records.set(instanceId, cloneJson(commit.record));
    const inbox = this.inbox(instanceId);
    for (const m of commit.newMessages) inbox.set(m.key, cloneJson(m));
    this.beforeWrite?.('consumeMessages', instanceId);
    for (const k of commit.processedKeys) inbox.delete(k);
    if (commit.record.executionId !== commit.executionId) executions.delete(commit.executionId);
  }

  async purge(instanceId: string): Promise<void> {
    this.writes++;
    this.records.delete(instanceId);
    this.histories.delete(instanceId);
    this.inboxes.delete(instanceId);
  }

  async close(): Promise<void> {}

  private inbox(instanceId: string): Map<string, InboxMessage> {
    let inbox = this.inboxes.get(instanceId);
    if (!inbox) {
      inbox = new Map();
      this.inboxes.set(instanceId, inbox);
    }
    return inbox;
  }
}
