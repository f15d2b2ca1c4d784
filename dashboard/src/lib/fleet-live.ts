import type { Client } from '@urql/core';
import { AgentHeartbeatsSubscription, FleetEventsSubscription, type AgentRow, type PushedHeartbeat } from './documents';
import type { FleetEvent } from './fleet-reducer';
import type { ResultOf } from './graphql';
import { Resubscriber } from './resubscribe';

/** Events are applied in batches: one list rebuild per batch, not per event. */
const FLUSH_MS = 50;
/** A needed resubscription waits for the rows on screen to be still this long (scrolling)… */
export const WATCH_DEBOUNCE_MS = 300;
/** …but never longer than this after it first became needed, however much they move. */
export const WATCH_MAX_WAIT_MS = 1000;
/** Rows watched above and below those on screen, so rows moving a little stay covered. */
export const WATCH_MARGIN = 100;
/** The API's limit per agentHeartbeats subscription (MAX_WATCHED_AGENTS; a test keeps them equal). */
export const MAX_WATCHED = 500;

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
 * (batched), and agentHeartbeats for the rows on screen and WATCH_MARGIN rows either
 * side. The heartbeat subscription changes only when a row on screen is not among those
 * it watches (scrolled past the margin, or moved in by a live update), and then once the
 * rows have settled; an error from it (the server ends a stream that falls too far
 * behind) opens it again after a growing pause. While a page is being fetched, what
 * arrives is also kept, so the caller can replay it over that fetch's answer, which may
 * be older.
 */
export class FleetLive {
  #client: Client;
  #handlers: FleetLiveHandlers;
  #pending: FleetEvent<AgentRow>[] = [];
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #inflight = 0;
  #recent: Replay = { events: [], heartbeats: [] };
  #stopEvents: (() => void) | undefined;
  #heartbeats: Resubscriber<{ data?: ResultOf<typeof AgentHeartbeatsSubscription>; error?: unknown }>;
  /** The ids the heartbeat subscription watches; and those a pending change will watch. */
  #watched = new Set<string>();
  #target: Set<string> | null = null;
  #view: { rows: readonly { id: string }[]; start: number; end: number } = { rows: [], start: 0, end: 0 };
  #watchTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the pending change first became needed, for WATCH_MAX_WAIT_MS. */
  #pendingSince: number | undefined;

  constructor(client: Client, handlers: FleetLiveHandlers) {
    this.#client = client;
    this.#handlers = handlers;
    this.#heartbeats = new Resubscriber((result) => {
      const batch = result.data?.agentHeartbeats?.heartbeats;
      if (!batch || batch.length === 0) return;
      if (this.#inflight > 0) this.#recent.heartbeats.push(...batch);
      this.#handlers.heartbeats(batch);
    });
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
   * Follows the rows on screen (`rows[start..end)`, the loaded list in its order) with the
   * heartbeat feed. Cheap when nothing needs to change, so it may be called on every
   * update: it resubscribes only when a row on screen is not watched, once the rows have
   * been still for WATCH_DEBOUNCE_MS or at most WATCH_MAX_WAIT_MS after the need arose.
   */
  watch(rows: readonly { id: string }[], start: number, end: number) {
    this.#view = { rows, start, end };
    if (this.#covers(this.#watched)) {
      this.#cancelPending();
      return;
    }
    // A change is already on its way that will cover these rows: let it settle.
    if (this.#target && this.#covers(this.#target)) return;
    this.#target = new Set(this.#window());
    const now = Date.now();
    this.#pendingSince ??= now;
    clearTimeout(this.#watchTimer);
    const wait = Math.max(0, Math.min(WATCH_DEBOUNCE_MS, this.#pendingSince + WATCH_MAX_WAIT_MS - now));
    this.#watchTimer = setTimeout(() => this.#follow(), wait);
  }

  /** Whether `ids` holds every row on screen (as many as one subscription may watch). */
  #covers(ids: ReadonlySet<string>): boolean {
    const { rows, start, end } = this.#view;
    const last = Math.min(end, rows.length, start + MAX_WATCHED);
    for (let i = start; i < last; i++) if (!ids.has(rows[i].id)) return false;
    return true;
  }

  /** The rows on screen and up to WATCH_MARGIN either side, at most MAX_WATCHED, sorted. */
  #window(): string[] {
    const { rows, start, end } = this.#view;
    const shown = Math.max(0, Math.min(end, rows.length) - start);
    const margin = Math.max(0, Math.min(WATCH_MARGIN, Math.floor((MAX_WATCHED - shown) / 2)));
    return rows
      .slice(Math.max(0, start - margin), Math.min(rows.length, end + margin))
      .slice(0, MAX_WATCHED)
      .map((r) => r.id)
      .sort();
  }

  #cancelPending() {
    clearTimeout(this.#watchTimer);
    this.#watchTimer = undefined;
    this.#pendingSince = undefined;
    this.#target = null;
  }

  #follow() {
    this.#cancelPending();
    if (this.#covers(this.#watched)) return;
    const ids = this.#window();
    this.#watched = new Set(ids);
    if (ids.length === 0) return this.#heartbeats.close();
    // The new subscription is open before the old one closes (Resubscriber.open), so the
    // server keeps watching the agents both share; the new one starts with their current state.
    this.#heartbeats.open((onResult) => this.#client.subscription(AgentHeartbeatsSubscription, { agentIds: ids }).subscribe(onResult));
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
    this.#heartbeats.close();
    this.#watched = new Set();
    this.#cancelPending();
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
