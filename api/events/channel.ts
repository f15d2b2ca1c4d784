/**
 * An async iterator fed by pushes, for subscriptions. Unlike an async generator it
 * can be closed while a consumer is waiting, so an unsubscribe takes effect at once;
 * and it holds at most `limit` undelivered items, failing the stream past that
 * instead of growing without bound behind a slow client.
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting?: { resolve(r: IteratorResult<T>): void; reject(err: unknown): void };
  private closed = false;
  private failure?: unknown;

  constructor(
    private readonly limit: number,
    private readonly onClose: () => void,
    private readonly overflow: () => Error,
  ) {}

  push(value: T): void {
    if (this.closed) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve({ value, done: false });
    } else if (this.buffer.length >= this.limit) {
      this.fail(this.overflow());
    } else {
      this.buffer.push(value);
    }
  }

  fail(err: unknown): void {
    if (this.closed) return;
    this.failure = err;
    this.close();
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.reject(err);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      return Promise.reject(err);
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.close();
    this.waiting?.resolve({ value: undefined, done: true });
    this.waiting = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err: unknown): Promise<IteratorResult<T>> {
    this.close();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
  }
}
