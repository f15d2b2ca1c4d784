import { EventEmitter } from 'node:events';
import type { Db } from '../db';
import type { AgentEventMessage } from './events.types';

/**
 * Carries committed agent events to every subscriber of every replica. A bus may
 * publish inside the writing transaction (PostgreSQL NOTIFY is delivered on commit,
 * and never for a rolled-back one) or right after it commits (in-process).
 */
export interface EventBus {
  publishInTransaction(tx: Db, events: AgentEventMessage[]): Promise<void>;
  publishCommitted(events: AgentEventMessage[]): void;
  subscribe(listener: (event: AgentEventMessage) => void): () => void;
  close(): Promise<void>;
}

/** The embedded database has one process, so an EventEmitter is the whole bus. */
export class MemoryBus implements EventBus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publishInTransaction(): Promise<void> {}

  publishCommitted(events: AgentEventMessage[]): void {
    for (const event of events) this.emitter.emit('event', event);
  }

  subscribe(listener: (event: AgentEventMessage) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
