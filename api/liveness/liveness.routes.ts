import type { ServerResponse } from 'node:http';
import { readJsonObject } from '../http/http';
import type { Route } from '../http/router';
import type { HeartbeatAnswer } from './liveness.service';

export const livenessRoutes: Route[] = [
  {
    method: 'POST',
    path: /^\/api\/v1\/agents\/([^/]+)\/heartbeat\/?$/,
    handle: async ({ req, res, params, principal, services }) => {
      const body = await readJsonObject(req);
      sendHeartbeatAnswer(res, await services.liveness.heartbeat(principal, params[0], body));
    },
  },
];

/**
 * The answer every agent gets many times a minute, written as text: each value is a
 * timestamp, an enum word, an integer or a boolean, so nothing needs escaping, and the
 * intermediate object JSON.stringify would need is one allocation fewer per heartbeat.
 */
function sendHeartbeatAnswer(res: ServerResponse, hb: HeartbeatAnswer): void {
  const text =
    `{"server_time":"${hb.serverTime.toISOString()}","status":"${hb.status}",` +
    `"next_heartbeat_by":"${hb.nextHeartbeatBy.toISOString()}","offline_at":"${hb.offlineAt.toISOString()}",` +
    `"heartbeat_interval_seconds":${hb.heartbeatIntervalSeconds},"configuration_revision":${hb.configurationRevision},` +
    `"stale_sequence":${hb.staleSequence}}`;
  // All ASCII, so its length is its size in bytes.
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': text.length }).end(text);
}
