import { EventEmitter } from 'node:events';
import type pg from 'pg';

export const EVENTS_CHANNEL = 'agent_monitor_events';

/** Longest a replica waits to pass on another signal after the last one it sent. */
const COALESCE_MS = 5;

/**
 * Tells every replica that new events were committed to the log. It carries no
 * events itself: each replica then reads the log from its own position, so order and
 * completeness come from the database, and a signal lost or doubled costs nothing
 * but a read. Writers signal after their transaction has committed, never inside it.
 */
export interface EventBus {
  /** Call after a transaction that appended events has committed. */
  signal(): void;
  onSignal(listener: () => void): void;
  close(): Promise<void>;
}

/** The embedded database lives in one process, so an EventEmitter is the whole bus. */
export class MemoryBus implements EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  signal(): void {
    this.emitter.emit('signal');
  }

  onSignal(listener: () => void): void {
    this.emitter.on('signal', listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/**
 * Several replicas on one PostgreSQL: LISTEN/NOTIFY on a connection kept for it. A
 * signal wakes this replica's readers at once and is passed to the others by a NOTIFY
 * of its own, outside any writing transaction (a NOTIFY inside one would queue every
 * writer's commit behind a cluster-wide lock). Signals are coalesced: at most one
 * NOTIFY is in flight, and one more follows it when signals arrived meanwhile.
 */
export class PgNotifyBus implements EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  /** Hands the listening connection back to the pool, once, however often it is called. */
  private release?: (destroy: boolean) => void;
  /** The listening connection, which also sends our NOTIFYs so that we can tell them apart. */
  private listener?: pg.PoolClient;
  private closed = false;
  private sending = false;
  private pending = false;

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
    // Our own NOTIFYs come back to us too; this replica was woken when it sent them.
    const ownPid = (client as unknown as { processID?: number }).processID;
    const onNotification = (n: pg.Notification) => {
      if (n.processId !== ownPid) this.emitter.emit('signal');
    };
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
      if (this.release === release) {
        this.release = undefined;
        this.listener = undefined;
      }
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
    this.listener = client;
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

  signal(): void {
    this.emitter.emit('signal');
    if (this.closed) return;
    if (this.sending) {
      this.pending = true;
      return;
    }
    this.sending = true;
    void this.notify();
  }

  private async notify(): Promise<void> {
    try {
      do {
        this.pending = false;
        try {
          await (this.listener ?? this.pool).query(`notify ${EVENTS_CHANNEL}`);
        } catch (err) {
          // The other replicas still read the log on their next signal, or on their own timers.
          if (!this.closed) this.onError(err as Error);
        }
        if (this.pending) await new Promise((r) => setTimeout(r, COALESCE_MS));
      } while (this.pending && !this.closed);
    } finally {
      this.sending = false;
    }
  }

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
