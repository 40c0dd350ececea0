/**
 * Persists a timer's schedule status where the Functions host keeps it (container
 * `azure-webjobs-hosts`, blob `timers/<hostId>/<timer>/status`, JSON {Last, Next, LastUpdated}),
 * so a restarted devhost knows which occurrence it missed and fires it as past due.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { blobServiceFor, isNotFound } from './storage';

export const HOSTS_CONTAINER = 'azure-webjobs-hosts';
/** .NET's default(DateTime), which the host records as `Last` before the first occurrence. */
export const DEFAULT_DATE_TIME = '0001-01-01T00:00:00';

export interface ScheduleStatus {
  Last: string;
  Next: string;
  LastUpdated: string;
}

export interface ScheduleMonitor {
  read(): Promise<ScheduleStatus | undefined>;
  write(status: ScheduleStatus): Promise<void>;
}

function isStatus(value: unknown): value is ScheduleStatus {
  const v = value as Partial<ScheduleStatus> | null;
  return typeof v === 'object' && v !== null && typeof v.Last === 'string' && typeof v.Next === 'string' && typeof v.LastUpdated === 'string';
}

export class BlobScheduleMonitor implements ScheduleMonitor {
  readonly #container: ContainerClient;
  readonly #blobName: string;
  #containerReady = false;

  constructor(connectionString: string, hostId: string, timerName: string) {
    this.#container = blobServiceFor(connectionString).getContainerClient(HOSTS_CONTAINER);
    this.#blobName = `timers/${hostId}/${timerName}/status`;
  }

  async read(): Promise<ScheduleStatus | undefined> {
    try {
      const content = await this.#container.getBlockBlobClient(this.#blobName).downloadToBuffer();
      const parsed: unknown = JSON.parse(content.toString('utf8'));
      return isStatus(parsed) ? parsed : undefined;
    } catch (e) {
      if (isNotFound(e) || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  async write(status: ScheduleStatus): Promise<void> {
    if (!this.#containerReady) {
      await this.#container.createIfNotExists();
      this.#containerReady = true;
    }
    const body = JSON.stringify(status);
    await this.#container.getBlockBlobClient(this.#blobName).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
  }
}
