import type { Client, CombinedError } from '@urql/core';
import { describeError } from './errors';
import { FleetAlertChangedSubscription, FleetPageQuery, LatestCursorQuery, type AgentRow, type PushedHeartbeat } from './documents';
import { fetchSummary } from './fleet-summary';
import { Resubscriber } from './resubscribe';
import { alertsFromChange, alertsFromPage, beatsFromPage, beatsFromPush, type AlertMap, type BeatMap, type PageNode } from './row-extras';
import { FleetLive, type Replay } from './fleet-live';
import { toAgentFilter, viewOf, DEFAULT_QUERY, type FleetQuery } from './fleet-query';
import { reduceCounts, reduceFleet, type FleetEvent, type FleetList, type StatusCounts } from './fleet-reducer';
import { mergeHeartbeats } from './heartbeats';
import { settler } from './settle';

const FIRST_PAGE = 100;
const NEXT_PAGE = 500;
/** After a burst the status cards are re-asked once, to settle what deltas cannot know. */
const SUMMARY_MS = 1000;
/** How long a row that just changed status stays highlighted. */
export const HIGHLIGHT_MS = 3000;

/**
 * The live fleet list for one view. It holds a loaded prefix of the server's ordered
 * result (paged in as the operator scrolls) and folds the live feeds (fleet-live.ts)
 * into it: every agentEvents event, and the pushed heartbeats of the rows on screen.
 * A 10 000-agent fleet costs one page up front and one small batch per burst.
 */
export class FleetState {
  agents = $state.raw<AgentRow[]>([]);
  totalCount = $state(0);
  complete = $state(false);
  counts = $state.raw<StatusCounts | null>(null);
  loading = $state(false);
  loadingMore = $state(false);
  error = $state<string | null>(null);
  /** The view the rows on screen were read for (its query string); lags a view asked for while offline. */
  shown = $state<string | null>(null);
  /** Events folded into the view so far; exposed for the budget script's drop check. */
  eventsApplied = $state(0);
  /** When each agent last changed status live, so its row can catch the eye briefly. */
  statusChangedAt = $state.raw<ReadonlyMap<string, number>>(new Map());
  /** Each loaded agent's recent heartbeats (row sparklines) and firing alerts (row markers). */
  beats = $state.raw<BeatMap>(new Map());
  alerts = $state.raw<AlertMap>(new Map());
  #alertFeed = new Resubscriber<{ data?: { alertChanged?: { alert: Parameters<typeof alertsFromChange>[1] } } }>((r) => {
    const alert = r.data?.alertChanged?.alert;
    if (alert) this.alerts = alertsFromChange(this.alerts, alert);
  });

  #client: Client;
  #query: FleetQuery = DEFAULT_QUERY;
  #endCursor: string | null = null;
  #loadId = 0;
  #live: FleetLive;
  #summary = settler(() => this.#refreshSummary(), SUMMARY_MS);
  /** Server cursor of each row that came from a page, to re-read a window of rows. */
  #cursors = new Map<string, string>();
  #visible = { start: 0, end: 0 };
  #recoverTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(client: Client) {
    this.#client = client;
    this.#live = new FleetLive(client, {
      events: (batch) => this.#applyEvents(batch),
      heartbeats: (batch) => this.#applyHeartbeats(batch),
      // An event the server could not serialize is still a change: re-read what is on
      // screen and the counts instead of silently missing it.
      unreadable: () => this.#recoverSoon(),
    });
  }

  stop() {
    this.#live.stop();
    this.#alertFeed.close();
    this.#summary.cancel();
    clearTimeout(this.#recoverTimer);
    this.#loadId++;
  }

  get query(): FleetQuery {
    return this.#query;
  }

  /**
   * Loads a view. `resubscribe` (first load, and after every reconnect) reads the log's
   * head cursor first and subscribes from it, before the list is read: events in between
   * arrive twice at worst, which the reducer shrugs off. graphql-ws would re-subscribe on
   * its own after a reconnect, but from the first cursor, replaying all history since.
   * The heartbeat feed it may re-subscribe as it is: that feed only reports what is new.
   */
  async load(query: FleetQuery, opts: { resubscribe?: boolean } = {}) {
    this.#query = query;
    const id = ++this.#loadId;
    this.loading = true;
    this.error = null;
    const mark = this.#live.begin();
    if (opts.resubscribe || !this.#live.subscribed) {
      const head = await this.#client.query(LatestCursorQuery, {}).toPromise();
      if (id !== this.#loadId) return void this.#live.end(mark);
      this.#live.subscribeEvents(head.data?.agentEventLog[0]?.cursor ?? null);
      this.#alertFeed.open((onResult) => this.#client.subscription(FleetAlertChangedSubscription, {}).subscribe(onResult));
    }
    const [page, summary] = await Promise.all([
      this.#client
        .query(FleetPageQuery, { filter: toAgentFilter(query), orderBy: this.#order(), first: FIRST_PAGE })
        .toPromise(),
      fetchSummary(this.#client, this.#query),
    ]);
    const replay = this.#live.end(mark);
    if (id !== this.#loadId) return;
    this.loading = false;
    const data = this.#dataOf(page);
    if (!data) return;
    const { edges, pageInfo, totalCount } = data.agents;
    this.#endCursor = pageInfo.endCursor ?? null;
    this.#cursors = new Map(edges.map((e) => [e.node.id, e.cursor]));
    const nodes = edges.map((e) => e.node);
    this.shown = viewOf(query);
    this.beats = beatsFromPage(new Map(), nodes);
    this.alerts = alertsFromPage(new Map(), nodes);
    this.#setList(this.#replay({ agents: nodes, totalCount, complete: !pageInfo.hasNextPage }, replay));
    if (summary) this.counts = summary.counts;
  }

  async loadMore() {
    if (this.loading || this.loadingMore || this.complete || !this.#endCursor) return;
    const id = this.#loadId;
    this.loadingMore = true;
    const { page, replay } = await this.#readPage(NEXT_PAGE, this.#endCursor);
    if (id !== this.#loadId) return;
    this.loadingMore = false;
    const data = this.#dataOf(page);
    if (!data) return;
    const { edges, pageInfo, totalCount } = data.agents;
    this.#endCursor = pageInfo.endCursor ?? this.#endCursor;
    for (const e of edges) this.#cursors.set(e.node.id, e.cursor);
    const nodes = edges.map((e) => e.node);
    this.#takeExtras(nodes);
    // Rows a live event already inserted keep their place; the page only extends the prefix.
    const have = new Set(this.agents.map((a) => a.id));
    const list: FleetList<AgentRow> = {
      agents: [...this.agents, ...nodes.filter((n) => !have.has(n.id))],
      totalCount,
      complete: !pageInfo.hasNextPage,
    };
    this.#setList(this.#replay(list, replay));
  }

  /**
   * Re-reads the rows on screen from the server, after an event that arrived unreadable.
   * The answer is folded in like events (then what arrived meanwhile on top), so a row
   * never steps back to an older state.
   */
  async refreshVisible() {
    const { start, end } = this.#visible;
    if (this.loading || end <= start) return;
    let after: string | null = null;
    let anchor = -1;
    for (let i = start - 1; i >= 0; i--) {
      const c = this.#cursors.get(this.agents[i].id);
      if (c) {
        after = c;
        anchor = i;
        break;
      }
    }
    const id = this.#loadId;
    const { page, replay } = await this.#readPage(Math.min(NEXT_PAGE, end - start + 10), after);
    if (id !== this.#loadId || !page.data) return;
    const position = new Map(this.agents.map((a, i) => [a.id, i]));
    const returned = new Set<string>();
    const fresh: FleetEvent<AgentRow>[] = [];
    let last = -1;
    this.#takeExtras(page.data.agents.edges.map((e) => e.node));
    for (const e of page.data.agents.edges) {
      returned.add(e.node.id);
      const at = position.get(e.node.id);
      // Only rows already loaded: new ones arrive by event or with their page.
      if (at === undefined) continue;
      last = Math.max(last, at);
      this.#cursors.set(e.node.id, e.cursor);
      fresh.push({ cursor: '', type: 'UPDATED', agentId: e.node.id, previousStatus: null, status: null, agent: e.node });
    }
    // The answer is the server's contiguous run after the anchor: a loaded row inside that
    // run which it left out is gone (deregistered, or no longer matching the view).
    for (let i = anchor + 1; i < last; i++) {
      const gone = this.agents[i];
      if (!returned.has(gone.id)) {
        fresh.push({ cursor: '', type: 'DEREGISTERED', agentId: gone.id, previousStatus: null, status: null, agent: null });
      }
    }
    this.#setList(this.#replay(reduceFleet(this.#list, fresh, this.#query), replay));
  }

  /** How the table orders the rows when it sorts them itself (by a metric). */
  #rowOrder: ((rows: readonly AgentRow[]) => readonly AgentRow[]) | undefined;

  /** The rows on screen, as the table reports them (in its `order`): the heartbeat feed follows them. */
  setVisible(start: number, end: number, order?: (rows: readonly AgentRow[]) => readonly AgentRow[]) {
    this.#visible = { start, end };
    this.#rowOrder = order;
    this.#watchVisible();
  }

  /** Cheap unless a row on screen is not watched yet, so it runs after every change. */
  #watchVisible() {
    const { start, end } = this.#visible;
    this.#live.watch(this.#rowOrder ? this.#rowOrder(this.agents) : this.agents, start, end);
  }

  #recoverSoon() {
    clearTimeout(this.#recoverTimer);
    this.#recoverTimer = setTimeout(() => {
      this.refreshVisible();
      this.#summary.poke();
    }, 300);
  }

  #order() {
    return { field: this.#query.sort, direction: this.#query.direction };
  }

  /** A page of the view after `after`, read while the live feeds are held, with what they delivered meanwhile. */
  async #readPage(first: number, after: string | null) {
    const mark = this.#live.begin();
    const page = await this.#client.query(FleetPageQuery, { filter: toAgentFilter(this.#query), orderBy: this.#order(), first, after }).toPromise();
    return { page, replay: this.#live.end(mark) };
  }

  /** A page's data; null, with the reason shown, when it could not be read. */
  #dataOf<D>(page: { error?: CombinedError; data?: D }): D | null {
    if (!page.error && page.data) return page.data;
    this.error = page.error ? describeError(page.error).message : 'No data';
    return null;
  }

  /** A fetched list with what arrived during the fetch on top: events, then heartbeats. */
  #replay(list: FleetList<AgentRow>, replay: Replay): FleetList<AgentRow> {
    return mergeHeartbeats(reduceFleet(list, replay.events, this.#query), replay.heartbeats, this.#query);
  }

  get #list(): FleetList<AgentRow> {
    return { agents: this.agents, totalCount: this.totalCount, complete: this.complete };
  }

  #setList(list: FleetList<AgentRow>) {
    this.agents = list.agents;
    this.totalCount = list.totalCount;
    this.complete = list.complete;
    this.#watchVisible();
  }

  #takeExtras(nodes: readonly PageNode[]) {
    this.beats = beatsFromPage(this.beats, nodes);
    this.alerts = alertsFromPage(this.alerts, nodes);
  }

  #applyHeartbeats(batch: PushedHeartbeat[]) {
    this.beats = beatsFromPush(this.beats, batch);
    this.#setList(mergeHeartbeats(this.#list, batch, this.#query));
  }

  #applyEvents(batch: FleetEvent<AgentRow>[]) {
    if (this.counts) {
      const known = new Map(this.agents.map((a) => [a.id, a]));
      this.counts = reduceCounts(this.counts, batch, this.#query, (id) => known.get(id));
    }
    this.#setList(reduceFleet(this.#list, batch, this.#query));
    this.eventsApplied += batch.length;
    this.#markStatusChanges(batch);
    this.#summary.poke();
  }

  #markStatusChanges(batch: readonly FleetEvent<AgentRow>[]) {
    const now = Date.now();
    let changed: Map<string, number> | null = null;
    for (const e of batch) {
      if (e.type !== 'STATUS_CHANGED') continue;
      changed ??= new Map([...this.statusChangedAt].filter(([, at]) => now - at < HIGHLIGHT_MS));
      changed.set(e.agentId, now);
    }
    if (changed) this.statusChangedAt = changed;
  }

  async #refreshSummary() {
    const id = this.#loadId;
    const summary = await fetchSummary(this.#client, this.#query);
    if (id !== this.#loadId || !summary) return;
    this.counts = summary.counts;
    this.totalCount = summary.totalCount;
  }
}
