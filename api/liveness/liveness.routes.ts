import { readJsonObject, sendJsonText } from '../http/http';
import type { Route } from '../http/router';
import type { HeartbeatAnswer } from './liveness.service';

export const livenessRoutes: Route[] = [
  {
    method: 'POST',
    path: /^\/api\/v1\/agents\/([^/]+)\/heartbeat\/?$/,
    quiet: true,
    tokenCheckedByWrite: true,
    handle: async ({ req, res, params, principal, services }) => {
      const body = await readJsonObject(req);
      const answer =
        body.metrics === undefined
          ? await services.liveness.heartbeat(principal, params[0], body)
          : await services.metrics.alongHeartbeat(principal, params[0], body.metrics, () => services.liveness.heartbeat(principal, params[0], body));
      sendJsonText(res, 200, heartbeatAnswerText(answer));
    },
  },
];

/**
 * The answer every agent gets many times a minute, written as text: each value is a
 * timestamp, an enum word, an integer or a boolean, so nothing needs escaping, and the
 * intermediate object JSON.stringify would need is one allocation fewer per heartbeat.
 */
const heartbeatAnswerText = (hb: HeartbeatAnswer) =>
  `{"server_time":"${hb.serverTime.toISOString()}","status":"${hb.status}",` +
  `"next_heartbeat_by":"${hb.nextHeartbeatBy.toISOString()}","offline_at":"${hb.offlineAt.toISOString()}",` +
  `"heartbeat_interval_seconds":${hb.heartbeatIntervalSeconds},"configuration_revision":${hb.configurationRevision},` +
  `"stale_sequence":${hb.staleSequence}}`;
