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
          : await services.metrics.alongHeartbeat(principal, params[0], body.metrics, (before) => services.liveness.heartbeat(principal, params[0], body, before));
      sendJsonText(res, 200, heartbeatAnswerText(answer));
    },
  },
];

/**
 * A time's ISO text, remembered for the time last asked: the answers of one batch are
 * written one after another, mostly within the same millisecond and with the same
 * deadline, and toISOString costs more than the rest of an answer's text.
 */
class IsoText {
  private ms = Number.NaN;
  private text = '';

  of(time: Date): string {
    const ms = time.getTime();
    if (ms !== this.ms) {
      this.ms = ms;
      this.text = time.toISOString();
    }
    return this.text;
  }
}
const serverTimes = new IsoText();
const nextHeartbeats = new IsoText();
const deadlines = new IsoText();

/**
 * The answer every agent gets many times a minute, written as text: each value is a
 * timestamp, an enum word, an integer or a boolean, so nothing needs escaping, and the
 * intermediate object JSON.stringify would need is one allocation fewer per heartbeat.
 */
const heartbeatAnswerText = (hb: HeartbeatAnswer) =>
  `{"server_time":"${serverTimes.of(hb.serverTime)}","status":"${hb.status}",` +
  `"next_heartbeat_by":"${nextHeartbeats.of(hb.nextHeartbeatBy)}","offline_at":"${deadlines.of(hb.offlineAt)}",` +
  `"heartbeat_interval_seconds":${hb.heartbeatIntervalSeconds},"configuration_revision":${hb.configurationRevision},` +
  `"stale_sequence":${hb.staleSequence}}`;
