import type { AgentService } from '../agents/agents.service';
import type { Principal } from '../auth/tokens';
import type { Db } from '../db';
import type { EventLog } from '../events/events.service';

export interface Services {
  agents: AgentService;
  events: EventLog;
}

/** The same shape for HTTP requests and WebSocket connections. */
export interface GraphQLContext {
  principal?: Principal;
  db: Db;
  services: Services;
}
