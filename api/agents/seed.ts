import type { Db } from '../db';
import type { AgentService } from './agents.service';
import { agentStore } from './agents.store';

/** The original description's six example agents, so a newcomer sees a fleet. */
export const DEMO_AGENTS = [
  { name: 'Web Server Alpha', type: 'web_server', host: 'web-01.company.com', port: 8080, environment: 'production', metadata: { region: 'us-east-1', team: 'platform' }, tags: ['frontend', 'critical'] },
  { name: 'Database Monitor', type: 'database_monitor', host: 'db-01.company.com', port: 5432, environment: 'production', metadata: { region: 'us-east-1', team: 'data', engine: 'postgresql' }, tags: ['database', 'critical'] },
  { name: 'API Gateway', type: 'api_gateway', host: 'gateway-01.company.com', port: 443, environment: 'production', metadata: { region: 'eu-west-1', team: 'platform' }, tags: ['edge'] },
  { name: 'Cache Monitor', type: 'cache_monitor', host: 'cache-01.company.com', port: 6379, environment: 'staging', metadata: { region: 'us-west-2', team: 'platform', engine: 'redis' }, tags: ['cache'] },
  { name: 'Security Scanner', type: 'security_scanner', host: 'sec-01.company.com', port: 9443, environment: 'production', metadata: { region: 'us-east-1', team: 'security' }, tags: ['security'] },
  { name: 'Log Processor', type: 'log_processor', host: 'logs-01.company.com', port: 5044, environment: 'development', metadata: { region: 'eu-central-1', team: 'observability' }, tags: ['logging'] },
];

/**
 * Registers the demo agents not registered yet, and returns how many it registered. One
 * already there is left as it is: registering it again would bring an offline one back
 * online, with no heartbeat, and resolve its alerts.
 */
export async function seedDemoAgents(agents: AgentService, db: Db): Promise<number> {
  let seeded = 0;
  for (const agent of DEMO_AGENTS) {
    if (await agentStore.idByIdentity(db, agent)) continue;
    await agents.register({ role: 'admin' }, agent);
    seeded++;
  }
  return seeded;
}
