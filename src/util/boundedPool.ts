/**
 * Runs `work` over `items` with at most `concurrency` in flight, pulling the next item only
 * when a slot frees, so neither a huge iterable nor its results pile up in memory (p-limit
 * queues every task up front; this pulls). On the first failure it stops pulling, lets the
 * running items finish, and throws that failure with any others attached.
 */
export async function forEachBounded<T>(
  items: Iterable<T> | AsyncIterable<T>,
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const iterator: AsyncIterator<T> | Iterator<T> =
    Symbol.asyncIterator in items ? (items as AsyncIterable<T>)[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]();
  const failures: unknown[] = [];
  let pulling: Promise<IteratorResult<T>> = Promise.resolve({ done: false, value: undefined as T });
  // Pulls are serialized: async generators must not be advanced concurrently.
  const next = (): Promise<IteratorResult<T>> => (pulling = pulling.catch(() => undefined).then(() => iterator.next()));
  async function worker(): Promise<void> {
    while (failures.length === 0) {
      let step: IteratorResult<T>;
      try {
        step = await next();
      } catch (e) {
        failures.push(e);
        return;
      }
      if (step.done) return;
      try {
        await work(step.value);
      } catch (e) {
        failures.push(e);
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failures.length > 0) {
    // Let the source release what it holds (an open download stream, say).
    await Promise.resolve(iterator.return?.()).catch(() => undefined);
    const [first, ...rest] = failures;
    if (rest.length > 0 && first instanceof Error) Object.assign(first, { others: rest });
    throw first;
  }
}

/**
 * Maps `items` through `fetch` with up to `ahead` fetches in flight, yielding the results in
 * the items' order: a pipeline of reads that keeps memory to `ahead` results.
 */
export async function* prefetchInOrder<T, R>(items: Iterable<T>, fetch: (item: T) => Promise<R>, ahead: number): AsyncGenerator<R> {
  if (!Number.isInteger(ahead) || ahead < 1) throw new RangeError(`ahead must be a positive integer, got ${ahead}`);
  const iterator = items[Symbol.iterator]();
  const queue: Promise<R>[] = [];
  const fill = (): void => {
    while (queue.length < ahead) {
      const step = iterator.next();
      if (step.done) return;
      const pending = fetch(step.value);
      pending.catch(() => undefined); // observed when its turn comes
      queue.push(pending);
    }
  };
  fill();
  while (queue.length > 0) {
    const value = await queue.shift()!;
    fill();
    yield value;
  }
}
