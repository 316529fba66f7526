/**
 * A minimal push→pull bridge: producers push(), one consumer iterates with `for await`.
 * `latestOnly` keeps a single slot that each push overwrites (a watched pointer: a slow reader
 * must see the newest value, not a backlog). close() ends the iteration at once and hands back the
 * unread items (so a consumer can return them to the bus); `onReturn` runs when the consumer stops iterating early (break / return()).
 */
export class AsyncChannel<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private readonly readers: Array<(r: IteratorResult<T>) => void> = [];
  private ended = false;

  constructor(private readonly opts: { latestOnly?: boolean; onReturn?: () => void } = {}) {}

  get isClosed(): boolean {
    return this.ended;
  }

  /** Returns false when the channel is closed (the item was not accepted). */
  push(item: T): boolean {
    if (this.ended) return false;
    const reader = this.readers.shift();
    if (reader) {
      reader({ value: item, done: false });
      return true;
    }
    if (this.opts.latestOnly) this.buffer.length = 0;
    this.buffer.push(item);
    return true;
  }

  /** Ends the channel; returns the items that were never read. */
  close(): T[] {
    if (this.ended) return [];
    this.ended = true;
    for (const r of this.readers.splice(0)) r({ value: undefined, done: true });
    return this.buffer.splice(0);
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.buffer.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.readers.push(resolve));
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.opts.onReturn?.();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
