/**
 * An async iterable whose first item is asked for at once: a listing can start in the same
 * round trip as other reads, its first answer (or failure) can decide what happens next, and
 * the rest is read only by whoever iterates it. `close()` ends an iterable nobody will read.
 */
import { settle, type Settled } from './settle';

export interface Primed<T> extends AsyncIterable<T> {
  /** The first step, settled: a failure here is the listing's own (a diff the service refuses). */
  readonly first: Promise<Settled<IteratorResult<T, void>>>;
  close(): Promise<void>;
}

export function primed<T>(source: AsyncIterable<T>): Primed<T> {
  const iterator = source[Symbol.asyncIterator]();
  const first = settle(iterator.next() as Promise<IteratorResult<T, void>>);
  let taken = false;
  let startedRest = false;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await first;
    await Promise.resolve(iterator.return?.()).catch(() => undefined);
  };
  return {
    first,
    close,
    [Symbol.asyncIterator](): AsyncIterator<T> {
      if (taken) throw new Error('a primed iterable is read once');
      taken = true;
      return {
        next: async () => {
          if (!startedRest) {
            startedRest = true;
            const step = await first;
            if (!step.ok) throw step.error;
            if (step.value.done) return { done: true, value: undefined };
            return { done: false, value: step.value.value };
          }
          return (await iterator.next()) as IteratorResult<T>;
        },
        return: async () => {
          await close();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
