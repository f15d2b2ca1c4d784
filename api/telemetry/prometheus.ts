import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { App } from '../app';
import type { ConsumerLag } from '../events/consumers';
import { RequestMetrics } from './request-metrics';

/**
 * The server's own metrics, in Prometheus text format at /metrics (prom-client). Labels
 * hold only bounded values: a route's pattern, never a raw URL; a method; a status code.
 */
export interface Telemetry {
  registry: Registry;
  /** One answered HTTP request. */
  request(route: string, method: string, status: number, seconds: number): void;
}

/** What the live doors report when asked: open sockets, subscriptions, SSE streams. */
export interface LiveConnections {
  sockets(): number;
  subscriptions(): number;
  sseStreams(): number;
}

// Request durations from well under a millisecond (a heartbeat) to the 15 s statement timeout.
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15];

export function createTelemetry(app: App, live: LiveConnections): Telemetry {
  const registry = new Registry();
  // Process memory, CPU, handles, GC, and event-loop lag (nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

  const requests = new RequestMetrics(registry, DURATION_BUCKETS);
  // Every 503 but /ready's is the database out of reach (api/errors.ts: SERVICE_UNAVAILABLE).
  const unavailable = new Counter({ name: 'agent_monitor_database_unavailable_total', help: 'Requests answered 503 because the database was out of reach.', registers: [registry] });
  instrumentLiveness(app, registry);
  instrumentSweeper(app, registry);
  instrumentPool(app, registry);
  instrumentConsumers(app, registry);

  new Gauge({ name: 'agent_monitor_websocket_sockets', help: 'Open graphql-ws sockets.', registers: [registry], collect() { this.set(live.sockets()); } });
  new Gauge({ name: 'agent_monitor_websocket_subscriptions', help: 'Active subscriptions over graphql-ws.', registers: [registry], collect() { this.set(live.subscriptions()); } });
  new Gauge({ name: 'agent_monitor_sse_streams', help: 'Open subscription streams over Server-Sent Events.', registers: [registry], collect() { this.set(live.sseStreams()); } });

  return {
    registry,
    request(route, method, status, seconds) {
      requests.record(route, method, status, seconds);
      if (status === 503 && route !== '/ready') unavailable.inc();
    },
  };
}

/** Heartbeats accepted and refused (by error code, over REST and GraphQL alike), batch sizes and write latency. */
function instrumentLiveness(app: App, registry: Registry): void {
  // Counted as a plain number and handed to prom-client when scraped: this runs on every heartbeat.
  let acceptedSoFar = 0;
  let acceptedReported = 0;
  new Counter({
    name: 'agent_monitor_heartbeats_accepted_total',
    help: 'Heartbeats written and acknowledged.',
    registers: [registry],
    collect() {
      this.inc(acceptedSoFar - acceptedReported);
      acceptedReported = acceptedSoFar;
    },
  });
  const refused = new Counter({ name: 'agent_monitor_heartbeats_refused_total', help: 'Heartbeats refused, by error code.', labelNames: ['code'], registers: [registry] });
  const sizes = new Histogram({ name: 'agent_monitor_heartbeat_batch_size', help: 'Heartbeats per batched write.', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000], registers: [registry] });
  const latency = new Histogram({ name: 'agent_monitor_heartbeat_flush_seconds', help: 'Time one batched heartbeat write took.', labelNames: ['outcome'], buckets: DURATION_BUCKETS, registers: [registry] });
  const liveness = app.services.liveness;
  liveness.onAnswer = (code) => {
    if (code === null) acceptedSoFar++;
    else refused.inc({ code });
  };
  liveness.onBatch = (size, seconds, failed) => {
    sizes.observe(size);
    latency.observe({ outcome: failed ? 'failed' : 'written' }, seconds);
  };
}

function instrumentSweeper(app: App, registry: Registry): void {
  const runs = new Counter({ name: 'agent_monitor_sweeper_runs_total', help: 'Offline sweeps, by outcome.', labelNames: ['outcome'], registers: [registry] });
  const transitions = new Counter({ name: 'agent_monitor_sweeper_transitions_total', help: 'Agents the sweeper marked offline.', registers: [registry] });
  const { sweeper } = app;
  const sweep = sweeper.sweep.bind(sweeper);
  sweeper.sweep = async () => {
    try {
      const n = await sweep();
      runs.inc({ outcome: 'ok' });
      transitions.inc(n);
      return n;
    } catch (err) {
      runs.inc({ outcome: 'failed' });
      throw err;
    }
  };
}

function instrumentPool(app: App, registry: Registry): void {
  const { pool } = app.database;
  if (!pool) return;
  new Gauge({
    name: 'agent_monitor_db_pool_connections',
    help: 'PostgreSQL pool connections, by state (total, idle, waiting = queries waiting for a connection).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  new Gauge({ name: 'agent_monitor_db_pool_max', help: 'Largest PostgreSQL pool size (DB_POOL_SIZE).', registers: [registry], collect() { this.set(app.config.dbPoolSize); } });
  const errors = new Counter({ name: 'agent_monitor_db_pool_errors_total', help: 'Errors reported by idle PostgreSQL connections (a lost server).', registers: [registry] });
  pool.on('error', () => errors.inc());
}

/**
 * The durable consumers of the event log: how far behind each is (events and seconds),
 * and which replica runs it. One query per scrape serves all three gauges.
 */
function instrumentConsumers(app: App, registry: Registry): void {
  let scrape: Promise<ConsumerLag[]> | undefined;
  const lag = () => (scrape ??= app.consumers.lag().finally(() => setTimeout(() => (scrape = undefined), 100)));
  const gauge = (name: string, help: string, value: (c: ConsumerLag) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['consumer'],
      registers: [registry],
      async collect() {
        this.reset();
        for (const c of await lag()) this.set({ consumer: c.name }, value(c));
      },
    });
  gauge('agent_monitor_event_consumer_lag_events', 'Events in the log that a durable consumer has not handled yet.', (c) => c.behindEvents);
  gauge('agent_monitor_event_consumer_lag_seconds', 'Age of the oldest event a durable consumer has not handled yet (0 when caught up).', (c) => c.behindSeconds);
  gauge('agent_monitor_event_consumer_active', 'Whether this replica holds the consumer\'s lease (1) or not (0).', (c) => (c.owner === app.consumers.replicaId ? 1 : 0));
}
