/**
 * Groups items with ascending block indices into aligned windows of `blocksPerWindow` blocks,
 * so the copier, restore and verify can move up to 4 MiB per request while hashing smaller
 * blocks. Streams: it holds one window's items at a time.
 */
export interface Windowed<T> {
  readonly window: number;
  readonly items: T[];
}

export async function* windowsOf<T extends { readonly index: number }>(
  items: AsyncIterable<T> | Iterable<T>,
  blocksPerWindow: number,
): AsyncGenerator<Windowed<T>> {
  let current: Windowed<T> | undefined;
  for await (const item of items) {
    const window = Math.floor(item.index / blocksPerWindow);
    if (current && current.window !== window) {
      yield current;
      current = undefined;
    }
    current ??= { window, items: [] };
    current.items.push(item);
  }
  if (current) yield current;
}

/** Byte spans of blocks (ascending, distinct indices), clipped to the disk size, normalized. */
export function blockSpans(indices: readonly number[], blockBytes: number, sizeBytes: number): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  for (const index of indices) {
    const start = index * blockBytes;
    const end = Math.min(start + blockBytes, sizeBytes);
    const last = spans[spans.length - 1];
    if (last && last.end === start) spans[spans.length - 1] = { start: last.start, end };
    else if (end > start) spans.push({ start, end });
  }
  return spans;
}
