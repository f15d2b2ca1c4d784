import type { AgentConfigurationRow } from './agents.table';
import type { PublicAgent } from './agents.snapshot';
import { parsePage } from './agents.input';
import { readJsonObject, sendJson, sendLargeJson } from '../http/http';
import type { Route } from '../http/router';

/** The agent in the original REST contract's snake_case shape. */
export const toRestAgent = (a: PublicAgent) => ({
  id: a.id,
  name: a.name,
  type: a.type,
  host: a.host,
  port: a.port,
  status: a.status,
  environment: a.environment,
  metadata: a.metadata,
  tags: a.tags,
  health: a.health,
  health_message: a.healthMessage,
  heartbeat_interval_seconds: a.heartbeatIntervalSeconds,
  last_heartbeat: a.lastHeartbeat?.toISOString() ?? null,
  offline_at: a.offlineAt?.toISOString() ?? null,
  configuration_revision: a.configurationRevision,
  created_at: a.createdAt.toISOString(),
  updated_at: a.updatedAt.toISOString(),
});

const restConfiguration = (c: { revision: number; entries: AgentConfigurationRow[] }) => ({
  configuration_revision: c.revision,
  configuration: Object.fromEntries(c.entries.map((e) => [e.key, e.value])),
  updated_at: Object.fromEntries(c.entries.map((e) => [e.key, e.updatedAt.toISOString()])),
});

export const agentRoutes: Route[] = [
  {
    method: 'POST',
    path: /^\/api\/v1\/agents\/register\/?$/,
    handle: async ({ req, res, principal, services }) => {
      const body = await readJsonObject(req);
      const { agent, token, created } = await services.agents.register(principal, body);
      sendJson(res, created ? 201 : 200, { ...toRestAgent(agent), token });
    },
  },
  {
    method: 'GET',
    path: /^\/api\/v1\/agents\/?$/,
    handle: async ({ req, res, search, principal, services }) => {
      const q = new URLSearchParams(search);
      const filter = {
        status: q.getAll('status').length ? q.getAll('status') : undefined,
        type: q.get('type') ?? undefined,
        environment: q.get('environment') ?? undefined,
        tags: q.getAll('tag').length ? q.getAll('tag') : undefined,
        metadata: q.getAll('metadata').length ? q.getAll('metadata') : undefined,
        inactive: q.get('inactive') ?? undefined,
        search: q.get('search') ?? undefined,
      };
      const page = parsePage(q.get('limit') ?? undefined, q.get('offset') ?? undefined);
      const agents = await services.agents.list(principal, filter, page);
      await sendLargeJson(req, res, 200, { agents: agents.map(toRestAgent), limit: page.limit, offset: page.offset });
    },
  },
  {
    method: 'GET',
    path: /^\/api\/v1\/agents\/([^/]+)\/?$/,
    handle: async ({ res, params, principal, services }) => {
      sendJson(res, 200, toRestAgent(await services.agents.get(principal, params[0])));
    },
  },
  {
    method: 'DELETE',
    path: /^\/api\/v1\/agents\/([^/]+)\/?$/,
    handle: async ({ res, params, principal, services }) => {
      sendJson(res, 200, await services.agents.deregister(principal, params[0]));
    },
  },
  {
    method: 'GET',
    path: /^\/api\/v1\/agents\/([^/]+)\/configuration\/?$/,
    handle: async ({ res, params, principal, services }) => {
      sendJson(res, 200, restConfiguration(await services.agents.configurationFor(principal, params[0])));
    },
  },
];
