import { readJsonObject, sendJson } from '../http/http';
import type { Route } from '../http/router';

export const livenessRoutes: Route[] = [
  {
    method: 'POST',
    path: /^\/api\/v1\/agents\/([^/]+)\/heartbeat\/?$/,
    handle: async ({ req, res, params, principal, services }) => {
      const body = await readJsonObject(req);
      const hb = await services.liveness.heartbeat(principal, params[0], body);
      sendJson(res, 200, {
        server_time: hb.serverTime.toISOString(),
        status: hb.status,
        next_heartbeat_by: hb.nextHeartbeatBy.toISOString(),
        offline_at: hb.offlineAt.toISOString(),
        heartbeat_interval_seconds: hb.heartbeatIntervalSeconds,
        configuration_revision: hb.configurationRevision,
        stale_sequence: hb.staleSequence,
      });
    },
  },
];
