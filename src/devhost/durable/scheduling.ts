/**
 * Small concurrency helpers for the engine: a FIFO work pump with a concurrency limit, a
 * per-key mutex, and a durable-timer wheel (one Node timer for the earliest due entry, so any
 * number of durable timers costs one handle; delays beyond Node's 24.8-day limit re-arm).
 */

/** Runs queued jobs with at most `limit` at a time, in FIFO order. */
export class WorkPump<T> {
  private readonly queue: T[] = [];
  private active = 0;
  private scheduled = false;
  private paused = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly limit: number,
    private readonly run: (job: T) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  get size(): number {
    return this.queue.length + this.active;
  }

  push(job: T): void {
    this.queue.push(job);
    this.schedule();
  }

  pause(): void {
    this.paused = true;
    this.queue.length = 0;
  }

  /** Resolves once every running job has finished. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private schedule(): void {
    if (this.scheduled || this.paused) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    while (!this.paused && this.active < this.limit && this.queue.length > 0) {
      const job = this.queue.shift() as T;
      this.active++;
      const p: Promise<void> = this.run(job)
        .catch((e: unknown) => this.onError(e))
        .finally(() => {
          this.active--;
          this.inflight.delete(p);
          this.pump();
        });
      this.inflight.add(p);
    }
  }
}

/** Serializes async sections per key. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<R>(key: string, section: () => Promise<R>): Promise<R> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await section();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

const MAX_NODE_DELAY = 2_147_000_000;

interface TimerEntry {
  key: string;
  dueMs: number;
  fire: () => void;
}

/** Durable timers in memory: many entries, one Node timer. */
export class TimerWheel {
  private readonly entries = new Map<string, TimerEntry>();
  private handle: NodeJS.Timeout | undefined;
  private handleDue = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.entries.size;
  }

  schedule(key: string, dueMs: number, fire: () => void): void {
    if (this.stopped) return;
    this.entries.set(key, { key, dueMs, fire });
    if (dueMs < this.handleDue) this.arm();
  }

  cancel(predicate: (key: string) => boolean): void {
    for (const key of [...this.entries.keys()]) if (predicate(key)) this.entries.delete(key);
  }

  stop(): void {
    this.stopped = true;
    this.entries.clear();
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
  }

  private arm(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.handleDue = Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.entries.values()) if (e.dueMs < next) next = e.dueMs;
    if (next === Number.POSITIVE_INFINITY || this.stopped) return;
    this.handleDue = next;
    const delay = Math.min(Math.max(0, next - this.now()), MAX_NODE_DELAY);
    this.handle = setTimeout(() => this.tick(), delay);
  }

  private tick(): void {
    this.handle = undefined;
    this.handleDue = Number.POSITIVE_INFINITY;
    const now = this.now();
    const due = [...this.entries.values()].filter((e) => e.dueMs <= now).sort((a, b) => a.dueMs - b.dueMs);
    for (const e of due) this.entries.delete(e.key);
    this.arm();
    for (const e of due) e.fire();
  }
}
