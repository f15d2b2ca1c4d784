import { EventEmitter } from 'node:events';
import type { EventBus } from './bus';
import type { EventLog } from './events.service';
import type { AgentEventMessage } from './events.types';

const PAGE = 1000;

/**
 * This replica's single reader of the event log. Each bus signal makes it read every
 * event after the last one it delivered, in log order, and hand them to the local
 * subscribers; signals that arrive during a read are folded into one more read.
 */
export class EventFeed {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private cursor = 0n;
  private reading?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(
    private readonly log: EventLog,
    bus: EventBus,
    private readonly onError: (err: unknown) => void,
  ) {
    bus.onSignal(() => this.wake());
  }

  /** Starts from the end of the log: subscribers that want history replay it themselves. */
  async start(): Promise<void> {
    this.cursor = await this.log.lastCursor();
  }

  /** The cursor of the newest event delivered to subscribers. */
  get position(): bigint {
    return this.cursor;
  }

  subscribe(listener: (event: AgentEventMessage) => void): () => void {
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
        const events = await this.log.after(this.cursor, PAGE);
        for (const event of events) {
          this.cursor = BigInt(event.cursor);
          this.emitter.emit('event', event);
        }
        if (events.length < PAGE) return;
      }
    } catch (err) {
      if (!this.stopped) this.onError(err);
    }
  }

  /** Resolves once everything signalled so far has been delivered (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.reading) await this.reading;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
    this.emitter.removeAllListeners();
  }
}
