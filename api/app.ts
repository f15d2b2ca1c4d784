import { AgentService } from './agents/agents.service';
import { Authenticator } from './auth/authenticator';
import { loadOperatorCredentials, type OperatorCredentials } from './auth/bootstrap';
import { systemClock, type Clock } from './clock';
import type { Config } from './config';
import { openDatabase, type Database } from './db';
import { MemoryBus, type EventBus } from './events/bus';
import { EventLog } from './events/events.service';
import type { Services } from './graphql/context';

export interface App {
  config: Config;
  database: Database;
  clock: Clock;
  bus: EventBus;
  services: Services;
  authenticator: Authenticator;
  credentials: OperatorCredentials;
  close(): Promise<void>;
}

/** Opens and migrates the database and wires the services; no network yet. */
export async function createApp(config: Config, opts: { clock?: Clock } = {}): Promise<App> {
  const clock = opts.clock ?? systemClock;
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  const credentials = await loadOperatorCredentials(config, database);
  const bus: EventBus = new MemoryBus();
  const events = new EventLog(database.db, bus);
  const services: Services = {
    events,
    agents: new AgentService({ db: database.db, events, clock, config }),
  };
  return {
    config,
    database,
    clock,
    bus,
    services,
    authenticator: new Authenticator(credentials.hashes),
    credentials,
    async close() {
      await bus.close();
      await database.close();
    },
  };
}
