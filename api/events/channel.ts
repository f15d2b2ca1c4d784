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
  /** A producer waiting for the consumer to take everything held (drained). */
  private drainWaiter?: () => void;

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

  /** Whether the stream has ended (returned, failed, or closed by its consumer). */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Resolves once the consumer has taken every item held, or the stream has ended: for a
   * producer that reads in pages and should read the next only as fast as its consumer.
   */
  drained(): Promise<void> {
    if (this.buffer.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiter = resolve));
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) {
      const value = this.buffer.shift()!;
      if (this.buffer.length === 0) this.wakeProducer();
      return Promise.resolve({ value, done: false });
    }
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
    this.wakeProducer();
    this.onClose();
  }

  private wakeProducer(): void {
    const wake = this.drainWaiter;
    this.drainWaiter = undefined;
    wake?.();
  }
}
