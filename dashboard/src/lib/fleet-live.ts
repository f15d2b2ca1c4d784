import type { Client } from '@urql/core';
import { AgentHeartbeatsSubscription, FleetEventsSubscription, type AgentRow, type PushedHeartbeat } from './documents';
import type { FleetEvent } from './fleet-reducer';

/** Events are applied in batches: one list rebuild per batch, not per event. */
const FLUSH_MS = 50;
/** Rows on screen settle this long before the heartbeat feed follows them (scrolling). */
export const WATCH_DEBOUNCE_MS = 300;
/** The API's limit per agentHeartbeats subscription. */
const MAX_WATCHED = 500;

export interface Replay {
  events: FleetEvent<AgentRow>[];
  heartbeats: PushedHeartbeat[];
}

export interface FleetLiveHandlers {
  /** A batch of agentEvents, in order. */
  events(batch: FleetEvent<AgentRow>[]): void;
  heartbeats(batch: PushedHeartbeat[]): void;
  /** An event arrived that the server could not serialize: something changed, unknown what. */
  unreadable(): void;
}

/**
 * The fleet's two live feeds, apart from its query state: every agentEvents event
 * (batched), and agentHeartbeats for the rows on screen, resubscribed once those settle.
 * While a page is being fetched, what arrives is also kept, so the caller can replay it
 * over that fetch's answer, which may be older.
 */
export class FleetLive {
  #client: Client;
  #handlers: FleetLiveHandlers;
  #pending: FleetEvent<AgentRow>[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #inflight = 0;
  #recent: Replay = { events: [], heartbeats: [] };
  #stopEvents: (() => void) | undefined;
  #stopHeartbeats: (() => void) | undefined;
  /** The ids the heartbeat subscription covers, sorted and joined; and the ones it will. */
  #watching = '';
  #wanted = '';
  #watchTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(client: Client, handlers: FleetLiveHandlers) {
    this.#client = client;
    this.#handlers = handlers;
  }

  get subscribed(): boolean {
    return this.#stopEvents !== undefined;
  }

  /** agentEvents from `after`: every later event is replayed, then live ones follow. */
  subscribeEvents(after: string | null) {
    this.#stopEvents?.();
    const sub = this.#client.subscription(FleetEventsSubscription, { after }).subscribe((result) => {
      const e = result.data?.agentEvents;
      if (e) this.#enqueue(e as FleetEvent<AgentRow>);
      else if (result.error) this.#handlers.unreadable();
    });
    this.#stopEvents = () => sub.unsubscribe();
  }

  /**
   * Follows the rows on screen with the heartbeat feed. A change waits until the rows
   * have been still for WATCH_DEBOUNCE_MS, so scrolling does not resubscribe every frame.
   */
  watch(ids: readonly string[]) {
    const wanted = [...new Set(ids)].slice(0, MAX_WATCHED).sort();
    const key = wanted.join(',');
    if (key === this.#wanted) return;
    this.#wanted = key;
    clearTimeout(this.#watchTimer);
    this.#watchTimer = undefined;
    if (key === this.#watching) return;
    this.#watchTimer = setTimeout(() => {
      this.#watchTimer = undefined;
      this.#subscribeHeartbeats(wanted, key);
    }, WATCH_DEBOUNCE_MS);
  }

  #subscribeHeartbeats(ids: string[], key: string) {
    this.#stopHeartbeats?.();
    this.#stopHeartbeats = undefined;
    this.#watching = key;
    if (ids.length === 0) return;
    const sub = this.#client.subscription(AgentHeartbeatsSubscription, { agentIds: ids }).subscribe((result) => {
      const batch = result.data?.agentHeartbeats?.heartbeats;
      if (!batch || batch.length === 0) return;
      if (this.#inflight > 0) this.#recent.heartbeats.push(...batch);
      this.#handlers.heartbeats(batch);
    });
    this.#stopHeartbeats = () => sub.unsubscribe();
  }

  /** Marks the start of a fetch; pass the mark to `end` when its answer is in. */
  begin(): { events: number; heartbeats: number } {
    this.#inflight++;
    return { events: this.#recent.events.length, heartbeats: this.#recent.heartbeats.length };
  }

  /** What arrived since `mark`, to be folded over the fetch's answer. */
  end(mark: { events: number; heartbeats: number }): Replay {
    const replay = { events: this.#recent.events.slice(mark.events), heartbeats: this.#recent.heartbeats.slice(mark.heartbeats) };
    if (--this.#inflight === 0) this.#recent = { events: [], heartbeats: [] };
    return replay;
  }

  stop() {
    this.#stopEvents?.();
    this.#stopEvents = undefined;
    this.#stopHeartbeats?.();
    this.#stopHeartbeats = undefined;
    this.#watching = this.#wanted = '';
    clearTimeout(this.#watchTimer);
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#pending = [];
  }

  #enqueue(event: FleetEvent<AgentRow>) {
    this.#pending.push(event);
    this.#flushTimer ??= setTimeout(() => this.#flush(), FLUSH_MS);
  }

  #flush() {
    this.#flushTimer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    if (this.#inflight > 0) this.#recent.events.push(...batch);
    this.#handlers.events(batch);
  }
}
