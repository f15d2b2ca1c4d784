import { AgentBulkService } from './agents/agents.bulk';
import { AgentService } from './agents/agents.service';
import { createAlerting } from './alerts/alerting';
import { AgentEventStream } from './agents/agents.stream';
import { Authenticator } from './auth/authenticator';
import { addStartKeys, loadOperatorCredentials, type OperatorCredentials } from './auth/bootstrap';
import { KeyRing } from './keys/keys.ring';
import { KeyService } from './keys/keys.service';
import { systemClock, type Clock } from './clock';
import type { Config } from './config';
import { openDatabase, type Database } from './db';
import { MemoryBus, PgNotifyBus, type EventBus } from './events/bus';
import { Consumers } from './events/consumers';
import { EventLog } from './events/events.log';
import { EventFeed } from './events/feed';
import type { Services } from './graphql/context';
import { availabilityConsumer } from './liveness/availability';
import { AvailabilityService } from './liveness/availability.service';
import { HeartbeatFeed } from './liveness/heartbeat.feed';
import { LivenessService } from './liveness/liveness.service';
import { LivenessStore } from './liveness/liveness.store';
import { LivenessPolicy } from './liveness/policy';
import { OfflineSweeper } from './liveness/sweeper';
import { createLogger, type Logger } from './log';
import { MetricService } from './metrics/metrics.service';

export interface App {
  config: Config;
  database: Database;
  clock: Clock;
  log: Logger;
  /** The event log, shared by every domain. */
  events: EventLog;
  /** This replica's reader of the log, feeding live subscriptions. */
  feed: EventFeed;
  /** Durable consumers of the log (one replica runs each at a time). */
  consumers: Consumers;
  /** The agentHeartbeats subscription's reader. */
  heartbeats: HeartbeatFeed;
  sweeper: OfflineSweeper;
  /** Alert evaluation's time-driven half and the webhook workers. */
  alerting: ReturnType<typeof createAlerting>;
  services: Services;
  authenticator: Authenticator;
  /** Every API key, in memory, refreshed from the database (revocation reaches every replica this way). */
  keys: KeyRing;
  credentials: OperatorCredentials;
  /**
   * Stops the background work (sweeper, heartbeat batches, feeds, bus) and closes the
   * database. The shutdown sequence calls it once the HTTP server has drained, so every
   * background worker belongs here.
   */
  close(): Promise<void>;
}

/** Opens and migrates the database, wires the services and starts the background work; no network yet. */
export async function createApp(config: Config, opts: { clock?: Clock; log?: Logger } = {}): Promise<App> {
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? createLogger(config.logLevel, { format: config.logFormat });
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    onError: (err) => log.warn('database connection lost', err),
  });
  const credentials = await loadOperatorCredentials(config, database);
  const { db } = database;

  const bus: EventBus = database.pool
    ? new PgNotifyBus(database.pool, (err) => log.warn('event bus', err))
    : new MemoryBus();
  const events = new EventLog(db, bus, clock);
  const feed = new EventFeed(events, bus, (err) => log.error('event feed', err));
  await feed.start();
  if (bus instanceof PgNotifyBus) await bus.start();

  const consumers = new Consumers({
    db,
    log: events,
    bus,
    clock,
    leaseMs: config.consumerLeaseMs,
    onError: (name, err) => log.error(`event consumer ${name}`, err),
    // Agents going offline are delivered first; alerts and roll-ups follow from them.
    urgent: () => sweeper.sweeping,
  });
  consumers.register(availabilityConsumer);
  const alerting = createAlerting({ db, events, feed, consumers, clock, config, onError: (what, err) => log.error(what, err) });

  const keys = new KeyRing(db, clock, { refreshMs: config.apiKeyRefreshMs, onError: (err) => log.warn('API keys refresh', err) });
  const keyService = new KeyService({ db, events, clock, ring: keys });
  await addStartKeys(config, credentials, keyService);
  await keys.refresh();
  keys.start();

  const policy = new LivenessPolicy(config.missedHeartbeats, config.outageGapMs);
  const store = new LivenessStore(policy);
  const heartbeats = new HeartbeatFeed({ db, store, intervalMs: config.heartbeatFeedMs, onError: (err) => log.error('heartbeat feed', err) });
  const services: Services = {
    agents: new AgentService({ db, events, clock, config, policy }),
    agentBulk: new AgentBulkService({ db, events, clock, config }),
    agentEvents: new AgentEventStream(feed, events),
    keys: keyService,
    liveness: new LivenessService({
      db,
      prepared: database.prepared,
      events,
      clock,
      config,
      policy,
      store,
      maxInFlight: database.pool ? Math.max(1, config.dbPoolSize - 2) : 1,
    }),
    heartbeats,
    availability: new AvailabilityService({ db, clock }),
    metrics: new MetricService({ database, clock, config: config.metrics, maxInFlight: database.pool ? Math.max(1, config.dbPoolSize - 2) : 1, onError: (what, err) => log.error(what, err) }),
    ...alerting.services,
  };
  await services.metrics.start();
  const sweeper = new OfflineSweeper({
    events,
    store,
    policy,
    clock,
    intervalMs: config.sweepIntervalMs,
    onError: (err) => log.error('offline sweeper', err),
    onOutage: ({ gapMs, agents }) =>
      log.warn(
        `no offline sweep ran ${gapMs === null ? 'before' : `for ${(gapMs / 1000).toFixed(1)} s`}: the server or its database was away; ${agents} agent(s) get one full deadline from now before they can go offline`,
      ),
  });
  // One sweep before anything is served: after an outage, the grace is given from the
  // moment the server is back, before the first heartbeat or sweep could race it.
  await sweeper.sweep();
  sweeper.start();
  await alerting.start();
  await consumers.start();

  return {
    config,
    database,
    clock,
    log,
    events,
    feed,
    consumers,
    heartbeats,
    sweeper,
    alerting,
    services,
    authenticator: new Authenticator(keys, clock),
    keys,
    credentials,
    async close() {
      await sweeper.stop();
      await keys.stop();
      await alerting.stop();
      await consumers.stop();
      await services.liveness.drain();
      await heartbeats.stop();
      await services.metrics.stop();
      await feed.stop();
      await bus.close();
      await database.close();
    },
  };
}
