import { AppError } from '../errors';
import { Channel } from './channel';

/** What each subscriber of a polled feed has, beside what its feed adds. */
export interface PolledSubscriber<T> {
  /** False until a read that began after it joined has handed it its first batch. */
  primed: boolean;
  channel: Channel<T>;
}

/**
 * A replica's single reader behind one kind of live subscription. While anyone
 * subscribes it runs `read` every `intervalMs`, one read at a time; a new subscriber
 * asks for a read at once (run right after the one in progress, if any), so its first
 * batch comes soon. Reading the tables rather than hooking the write path makes what any
 * replica wrote reach subscribers on all of them, and costs the write path nothing.
 * A subclass says what a read fetches and which batch each subscriber is handed.
 */
export abstract class PolledFeed<T, S extends PolledSubscriber<T>> {
  protected readonly subscribers = new Set<S>();
  protected stopped = false;
  private timer?: NodeJS.Timeout;
  private reading?: Promise<void>;
  /** A read was asked for while one ran: run one more right after it. */
  private again = false;
  private completedReads = 0;

  constructor(private readonly polling: { what: string; intervalMs: number; maxBacklog: number; onError(err: unknown): void }) {}

  /** One read: fetch, then hand batches to the subscribers it began with. False if it had nothing to do. */
  protected abstract read(): Promise<boolean>;

  /** Everyone left: forget what was read for them. */
  protected abstract forget(): void;

  /** Refuses new subscriptions once the feed has stopped. */
  protected assertRunning(): void {
    if (this.stopped) throw new Error(`the ${this.polling.what} feed has stopped (the server is shutting down)`);
  }

  /** Adds a subscriber (its fields checked already) and starts reading for it. */
  protected join(fields: Omit<S, keyof PolledSubscriber<T>>): Channel<T> {
    const { what, maxBacklog, intervalMs } = this.polling;
    const subscriber = { ...fields, primed: false } as S;
    subscriber.channel = new Channel<T>(
      maxBacklog,
      () => this.remove(subscriber),
      () => new AppError('RATE_LIMITED', `subscriber fell more than ${maxBacklog} ${what} batches behind; subscribe again`),
    );
    this.subscribers.add(subscriber);
    this.timer ??= setInterval(() => this.tick(), intervalMs).unref();
    setImmediate(() => this.tick(true));
    return subscriber.channel;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** True while the interval timer runs, that is while anyone subscribes. */
  get active(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Reads completed so far. A subscriber is primed once two have completed after it
   * joined (the first of them may have begun before it did).
   */
  get reads(): number {
    return this.completedReads;
  }

  private remove(subscriber: S): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size > 0) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.forget();
  }

  private tick(priming = false): void {
    if (this.stopped || this.subscribers.size === 0) return;
    if (this.reading) {
      this.again ||= priming;
      return;
    }
    this.reading = this.read()
      .then((done) => {
        if (done) this.completedReads++;
      })
      .catch((err) => {
        if (!this.stopped) this.polling.onError(err);
      })
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.tick();
        }
      });
  }

  /** Ends every subscription (shutdown); later subscriptions are refused. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.reading;
    for (const s of [...this.subscribers]) void s.channel.return();
  }
}
