import { sql } from 'drizzle-orm';
import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Db } from '../db';

export const EVENTS_CHANNEL = 'agent_events';

/**
 * Tells every replica that new events were committed to the log. It carries no
 * events itself: each replica then reads the log from its last cursor, so order and
 * completeness come from the database, and a payload never outgrows NOTIFY's 8 kB.
 */
export interface EventBus {
  /** Called inside the writing transaction (NOTIFY is sent on commit and never on rollback). */
  signalInTransaction(tx: Db): Promise<void>;
  /** Called once that transaction has committed. */
  signalCommitted(): void;
  onSignal(listener: () => void): void;
  close(): Promise<void>;
}

/** The embedded database lives in one process, so an EventEmitter is the whole bus. */
export class MemoryBus implements EventBus {
  private readonly emitter = new EventEmitter();

  async signalInTransaction(): Promise<void> {}

  signalCommitted(): void {
    this.emitter.emit('signal');
  }

  onSignal(listener: () => void): void {
    this.emitter.on('signal', listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/** Several replicas on one PostgreSQL: LISTEN/NOTIFY, on a connection kept for it. */
export class PgNotifyBus implements EventBus {
  private readonly emitter = new EventEmitter();
  /** Hands the listening connection back to the pool, once, however often it is called. */
  private release?: (destroy: boolean) => void;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly onError: (err: Error) => void,
  ) {}

  async start(): Promise<void> {
    await this.listen();
  }

  private async listen(): Promise<void> {
    const client = await this.pool.connect();
    let released = false;
    const onNotification = () => this.emitter.emit('signal');
    // A connection can report more than one error; it is given back and replaced once.
    const onError = (err: Error) => {
      if (released) return;
      this.onError(err);
      release(true);
      void this.reconnect();
    };
    const release = (destroy: boolean) => {
      if (released) return;
      released = true;
      if (this.release === release) this.release = undefined;
      // Once back in the pool, the pool's own error handler covers the connection.
      client.off('notification', onNotification).off('error', onError);
      client.release(destroy);
    };
    client.on('notification', onNotification).on('error', onError);
    try {
      await client.query(`listen ${EVENTS_CHANNEL}`);
    } catch (err) {
      release(true);
      throw err;
    }
    if (this.closed) return release(true);
    this.release = release;
    // Whatever was committed while we were not listening is picked up by a read now.
    this.emitter.emit('signal');
  }

  private async reconnect(): Promise<void> {
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 5_000)) {
      await new Promise((r) => setTimeout(r, delay));
      if (this.closed) return;
      try {
        await this.listen();
        return;
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }

  async signalInTransaction(tx: Db): Promise<void> {
    await tx.execute(sql`select pg_notify(${EVENTS_CHANNEL}, '')`);
  }

  signalCommitted(): void {}

  onSignal(listener: () => void): void {
    this.emitter.on('signal', listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.emitter.removeAllListeners();
    // Destroyed rather than returned: a connection that listened is not reused.
    this.release?.(true);
  }
}
