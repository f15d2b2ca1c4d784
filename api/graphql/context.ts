import type { AgentBulkService } from '../agents/agents.bulk';
import type { AgentService } from '../agents/agents.service';
import type { AgentEventStream } from '../agents/agents.stream';
import type { KeyService } from '../keys/keys.service';
import type { AgentConfigurationRow } from '../agents/agents.snapshot';
import type { Principal } from '../auth/tokens';
import type { Db } from '../db';
import type { AvailabilityService } from '../liveness/availability.service';
import type { HeartbeatFeed } from '../liveness/heartbeat.feed';
import type { LivenessService } from '../liveness/liveness.service';
import type { MetricService } from '../metrics/metrics.service';
import type { AlertService } from '../alerts/alerts.service';
import type { AlertEventStream } from '../alerts/alerts.stream';
import type { RuleService } from '../alerts/rules.service';
import type { SilenceService } from '../alerts/silences.service';
import type { NotificationService } from '../notifications/notifications.service';
import { BatchLoader } from './loader';

export interface Services {
  agents: AgentService;
  agentBulk: AgentBulkService;
  agentEvents: AgentEventStream;
  keys: KeyService;
  liveness: LivenessService;
  heartbeats: HeartbeatFeed;
  availability: AvailabilityService;
  metrics: MetricService;
  alerts: AlertService;
  alertEvents: AlertEventStream;
  rules: RuleService;
  silences: SilenceService;
  notifications: NotificationService;
}

/** The same shape for HTTP requests and WebSocket operations. */
export interface GraphQLContext {
  principal?: Principal;
  /** For the drizzle plugin's own fallback queries; resolvers go through `services`. */
  db: Db;
  services: Services;
  loaders: { tags: BatchLoader<string, string[]>; configuration: BatchLoader<string, AgentConfigurationRow[]> };
}

export function createContext(db: Db, services: Services, principal: Principal | undefined): GraphQLContext {
  const tags = new BatchLoader<string, string[]>((ids) => services.agents.tagsOf(ids), []);
  const configuration = new BatchLoader<string, AgentConfigurationRow[]>((ids) => services.agents.configurationsOf(ids), []);
  return { principal, db, services, loaders: { tags, configuration } };
}
