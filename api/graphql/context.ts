import { asc, inArray } from 'drizzle-orm';
import type { AgentService } from '../agents/agents.service';
import { agentTags } from '../agents/agents.table';
import type { Principal } from '../auth/tokens';
import type { Db } from '../db';
import type { EventLog } from '../events/events.service';
import type { EventStream } from '../events/events.stream';
import type { HeartbeatFeed } from '../liveness/heartbeat.feed';
import type { LivenessService } from '../liveness/liveness.service';
import { BatchLoader } from './loader';

export interface Services {
  agents: AgentService;
  events: EventLog;
  stream: EventStream;
  liveness: LivenessService;
  heartbeats: HeartbeatFeed;
}

/** The same shape for HTTP requests and WebSocket operations. */
export interface GraphQLContext {
  principal?: Principal;
  db: Db;
  services: Services;
  loaders: { tags: BatchLoader<string, string[]> };
}

export function createContext(db: Db, services: Services, principal: Principal | undefined): GraphQLContext {
  const tags = new BatchLoader<string, string[]>(async (ids) => {
    const rows = await db.select().from(agentTags).where(inArray(agentTags.agentId, ids)).orderBy(asc(agentTags.tag));
    const byAgent = new Map<string, string[]>();
    for (const row of rows) byAgent.set(row.agentId, [...(byAgent.get(row.agentId) ?? []), row.tag]);
    return byAgent;
  }, []);
  return { principal, db, services, loaders: { tags } };
}
