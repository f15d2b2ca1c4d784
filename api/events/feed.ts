import { EventEmitter } from 'node:events';
import type { EventBus } from './bus';
import type { EventLog } from './events.log';
import type { EventRecord } from './events.types';
import { ORIGIN, type Position } from './position';

const PAGE = 1000;
/** Re-read this soon when committed events wait behind a transaction still running. */
const HELD_RETRY_MS = [2, 5, 10, 20, 50, 100];
/** A read now and then even without a signal, in case one was lost with its connection. */
const POLL_MS = 2_000;

/**
 * This replica's single reader of the event log. Each bus signal makes it read every
 * event after the last one it delivered, in log order, and hand them to the local
 * listeners; signals that arrive during a read are folded into one more read.
 *
 * An event committed by a transaction that began writing before another one still
 * running is held back until that one ends (see position.ts); the feed then retries
 * on a short timer, since the transaction it waits for may append nothing and so send
 * no signal.
 */
export class EventFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private position: Position = ORIGIN;
  private reading?: Promise<void>;
  private again = false;
  private stopped = false;
  private heldRetries = 0;
  private retryTimer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;

  constructor(
    private readonly log: EventLog,
    bus: EventBus,
    private readonly onError: (err: unknown) => void,
  ) {
    bus.onSignal(() => this.wake());
  }

  /** Starts from the end of the log: listeners that want history replay it themselves. */
  async start(): Promise<void> {
    this.position = await this.log.head();
    this.pollTimer = setInterval(() => this.wake(), POLL_MS).unref();
  }

  /** The position of the newest event delivered to listeners. */
  get current(): Position {
    return this.position;
  }

  /** Listeners are called synchronously, in log order, with the same record object for all. */
  subscribe(listener: (event: EventRecord) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  get subscriberCount(): number {
    return this.emitter.listenerCount('event');
  }

  wake(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.reading = this.drain().finally(() => {
      this.reading = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const events = await this.log.after(this.position, PAGE);
        for (const event of events) {
          this.position = event.position;
          this.emitter.emit('event', event);
        }
        if (events.length < PAGE) break;
      }
      if (await this.log.heldBack(this.position)) this.retrySoon();
      else this.heldRetries = 0;
    } catch (err) {
      if (!this.stopped) this.onError(err);
    }
  }

  private retrySoon(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = HELD_RETRY_MS[Math.min(this.heldRetries++, HELD_RETRY_MS.length - 1)];
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.wake();
    }, delay);
  }

  /** Resolves once everything signalled so far has been delivered (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.reading) await this.reading;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pollTimer);
    await this.idle();
    this.emitter.removeAllListeners();
  }
}
