import { AgentService } from './agents/agents.service';
import { Authenticator } from './auth/authenticator';
import { loadOperatorCredentials, type OperatorCredentials } from './auth/bootstrap';
import { systemClock, type Clock } from './clock';
import type { Config } from './config';
import { openDatabase, type Database } from './db';
import { MemoryBus, PgNotifyBus, type EventBus } from './events/bus';
import { EventLog } from './events/events.service';
import { EventStream } from './events/events.stream';
import { EventFeed } from './events/feed';
import type { Services } from './graphql/context';
import { HeartbeatFeed } from './liveness/heartbeat.feed';
import { LivenessService } from './liveness/liveness.service';
import { OfflineSweeper } from './liveness/sweeper';
import { createLogger, type Logger } from './log';

export interface App {
  config: Config;
  database: Database;
  clock: Clock;
  log: Logger;
  feed: EventFeed;
  /** The agentHeartbeats subscription's reader. */
  heartbeats: HeartbeatFeed;
  sweeper: OfflineSweeper;
  services: Services;
  authenticator: Authenticator;
  credentials: OperatorCredentials;
  close(): Promise<void>;
}

/** Opens and migrates the database, wires the services and starts the background work; no network yet. */
export async function createApp(config: Config, opts: { clock?: Clock } = {}): Promise<App> {
  const clock = opts.clock ?? systemClock;
  const log = createLogger(config.logLevel);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  const credentials = await loadOperatorCredentials(config, database);
  const { db } = database;

  const bus: EventBus = database.pool
    ? new PgNotifyBus(database.pool, (err) => log.warn(`event bus: ${err.message}`))
    : new MemoryBus();
  const events = new EventLog(db, bus, clock);
  const feed = new EventFeed(events, bus, (err) => log.error('event feed', err));
  await feed.start();
  if (bus instanceof PgNotifyBus) await bus.start();

  const heartbeats = new HeartbeatFeed({ db, intervalMs: config.heartbeatFeedMs, onError: (err) => log.error('heartbeat feed', err) });
  const services: Services = {
    events,
    stream: new EventStream(feed, events),
    agents: new AgentService({ db, events, clock, config }),
    liveness: new LivenessService({ db, prepared: database.prepared, events, clock, config, maxInFlight: database.pool ? Math.max(1, config.dbPoolSize - 2) : 1 }),
    heartbeats,
  };
  const sweeper = new OfflineSweeper({
    db,
    events,
    clock,
    missedHeartbeats: config.missedHeartbeats,
    intervalMs: config.sweepIntervalMs,
    onError: (err) => log.error('offline sweeper', err),
  });
  sweeper.start();

  return {
    config,
    database,
    clock,
    log,
    feed,
    heartbeats,
    sweeper,
    services,
    authenticator: new Authenticator(credentials.hashes),
    credentials,
    async close() {
      await sweeper.stop();
      await services.liveness.drain();
      await heartbeats.stop();
      await feed.stop();
      await bus.close();
      await database.close();
    },
  };
}
