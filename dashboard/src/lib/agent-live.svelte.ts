import type { Client } from '@urql/core';
import {
  AgentEventLogQuery,
  AgentEventsSubscription,
  AgentPageHeartbeatsSubscription,
  AgentPageQuery,
  AgentQuery,
  LatestCursorQuery,
  type AgentDetail,
  type AgentEventEntry,
  type Heartbeat,
} from './documents';
import { describeError } from './errors';
import type { ResultOf } from './graphql';
import { latestPerAgent, prependHeartbeats, withLiveness } from './heartbeats';
import { Resubscriber } from './resubscribe';
import { appendEvents, lastCursor, prependEvents } from './timeline';

const PAGE = 50;

/**
 * One agent, kept live: the page query, then agentEvents resumed from a cursor taken
 * just before it, so nothing falls between the two. The subscription has no agent
 * filter: every event moves the resume cursor, events for other agents are dropped.
 * After a reconnect it restarts from that cursor, replaying exactly what was missed
 * (and only that: an agent's own last event may be far older than the log's head).
 * Heartbeats are pushed by agentHeartbeats: each one joins the strip (`heartbeats`, newest
 * first, as Agent.recentHeartbeats) and brings the agent's liveness fields up to date;
 * the first push, the agent's current state, fills in what fell between query and
 * subscription.
 */
export class AgentLive {
  agent = $state.raw<AgentDetail | null>(null);
  events = $state.raw<AgentEventEntry[]>([]);
  /** The recent heartbeats, newest first: read with the agent, then pushed. */
  heartbeats = $state.raw<Heartbeat[]>([]);
  loading = $state(true);
  notFound = $state(false);
  deregistered = $state(false);
  error = $state<string | null>(null);
  hasOlder = $state(false);

  readonly id: string;
  #client: Client;
  #unsubscribe: (() => void) | undefined;
  #loadId = 0;
  #resume: string | null = null;

  constructor(client: Client, id: string) {
    this.#client = client;
    this.id = id;
  }

  async load() {
    const id = ++this.#loadId;
    this.#stopSubscription();
    if (this.#resume === null) {
      const head = await this.#client.query(LatestCursorQuery, {}).toPromise();
      if (id !== this.#loadId) return;
      this.#resume = head.data?.agentEventLog[0]?.cursor ?? null;
    }
    const result = await this.#client.query(AgentPageQuery, { id: this.id, last: PAGE }).toPromise();
    if (id !== this.#loadId) return;
    this.loading = false;
    if (result.error || !result.data) {
      this.error = result.error ? describeError(result.error).message : 'No data';
      return;
    }
    this.error = null;
    const { agent, agentEventLog } = result.data;
    if (!agent) {
      this.notFound = !this.deregistered;
      this.agent = null;
    } else {
      const { recentHeartbeats, ...detail } = agent;
      this.agent = detail;
      // A deregistered agent is answered as it was when it left: the page opens, marked so.
      if (detail.deregisteredAt) this.deregistered = true;
      this.heartbeats = prependHeartbeats(recentHeartbeats, this.heartbeats);
    }
    if (this.events.length === 0) this.hasOlder = agentEventLog.length >= PAGE;
    this.events = appendEvents(this.events, agentEventLog);
    this.#subscribe(this.#resume ?? lastCursor(this.events));
  }

  async loadOlder() {
    const before = this.events[0]?.cursor;
    if (!before) return;
    const result = await this.#client.query(AgentEventLogQuery, { id: this.id, before, last: PAGE }).toPromise();
    if (!result.data) return;
    this.hasOlder = result.data.agentEventLog.length >= PAGE;
    this.events = prependEvents(this.events, result.data.agentEventLog);
  }

  /** Re-reads the agent, after an event that arrived unreadable. */
  async refreshAgent() {
    if (this.deregistered) return;
    const id = this.#loadId;
    const result = await this.#client.query(AgentQuery, { id: this.id }).toPromise();
    if (id !== this.#loadId || this.deregistered || !result.data) return;
    if (!result.data.agent) {
      this.deregistered = true;
      return;
    }
    // A status event may have landed meanwhile; it is newer than this answer on status.
    const { recentHeartbeats, ...fresh } = result.data.agent;
    const current = this.agent;
    this.agent = current && current.status !== fresh.status ? { ...fresh, status: current.status } : fresh;
    this.heartbeats = prependHeartbeats(this.heartbeats, recentHeartbeats);
  }

  /** Mutations answer with the new agent; showing it now beats waiting for the event. */
  replaceAgent(agent: AgentDetail) {
    this.agent = agent;
  }

  markDeregistered() {
    this.deregistered = true;
  }

  #subscribe(after: string | null) {
    const sub = this.#client.subscription(AgentEventsSubscription, { after }).subscribe((result) => {
      const e = result.data?.agentEvents;
      if (!e) {
        // Unreadable event: it may have been ours, so look at the agent again.
        if (result.error) void this.refreshAgent();
        return;
      }
      this.#resume = e.cursor;
      if (e.agentId !== this.id) return;
      const { agent, ...entry } = e;
      this.events = appendEvents(this.events, [entry]);
      if (e.type === 'DEREGISTERED') this.deregistered = true;
      else if (agent) this.agent = agent;
    });
    // Its first push is the agent's current state (with its history): what the page query
    // may have missed. An error (the stream ended) opens it again after a pause.
    const beats = new Resubscriber<{ data?: ResultOf<typeof AgentPageHeartbeatsSubscription>; error?: unknown }>((result) => {
      const batch = result.data?.agentHeartbeats?.heartbeats.filter((h) => h.agent.id === this.id);
      if (!batch || batch.length === 0) return;
      const pushed = latestPerAgent(batch).get(this.id);
      this.heartbeats = prependHeartbeats(this.heartbeats, [...batch, ...(pushed?.recentHeartbeats ?? [])]);
      const current = this.agent;
      const next = current && pushed && withLiveness(current, pushed);
      if (next) this.agent = { ...next, healthMessage: pushed.healthMessage };
    });
    beats.open((onResult) => this.#client.subscription(AgentPageHeartbeatsSubscription, { agentIds: [this.id] }).subscribe(onResult));
    this.#unsubscribe = () => {
      sub.unsubscribe();
      beats.close();
    };
  }

  #stopSubscription() {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
  }

  stop() {
    this.#loadId++;
    this.#stopSubscription();
  }
}
