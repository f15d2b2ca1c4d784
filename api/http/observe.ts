import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log';

/** What the request log and the metrics know of one request. */
export interface RequestInfo {
  id: string;
  /** The route's pattern, never the raw path, so logs and metric labels stay bounded. */
  route: string;
  /** Successful answers on this route are logged at debug: agents send them by the thousand. */
  quiet: boolean;
}

export type RequestObserver = (info: RequestInfo, method: string, status: number, seconds: number, res: ServerResponse) => void;

const ID = /^[A-Za-z0-9._:-]{1,64}$/;
// A per-process prefix and a counter: unique enough to find one request's lines, and cheaper than a UUID each.
const prefix = randomBytes(4).toString('hex');
let counter = 0;

/**
 * Gives the request an id (the caller's X-Request-Id when it is a sane one, echoed in the
 * answer), and once the answer is done writes one log line and tells `observe`. A quiet
 * route's successful answer carries only an id the caller sent (see `showRequestId`).
 * This runs on every heartbeat: one listener and one small object per request.
 */
export function observeRequest(req: IncomingMessage, res: ServerResponse, log: Logger, observe: RequestObserver): RequestInfo {
  const given = req.headers['x-request-id'];
  const echo = typeof given === 'string' && ID.test(given);
  const info: RequestInfo = { id: echo ? given : `${prefix}-${(++counter).toString(36)}`, route: 'unmatched', quiet: false };
  if (echo) res.setHeader('x-request-id', info.id);
  const started = performance.now();
  res.on('close', () => {
    const seconds = (performance.now() - started) / 1000;
    // A client that left before an answer was written is logged as 499, as nginx does.
    const status = res.headersSent ? res.statusCode : 499;
    const method = req.method ?? 'GET';
    observe(info, method, status, seconds, res);
    const level = status >= 500 ? 'error' : info.quiet && status < 400 ? 'debug' : 'info';
    if (!log.pino.isLevelEnabled(level)) return;
    const line = { reqId: info.id, method, route: info.route, status, ms: Math.round(seconds * 10_000) / 10 };
    if (level === 'error') log.error(`request failed: ${status} ${info.route}`, line);
    else log[level]('request', line);
  });
  return info;
}

/**
 * Puts the request's id on the answer: every answer but a quiet route's success, where the
 * header (validated and written per request) would cost a heartbeat a tenth of its time.
 */
export function showRequestId(res: ServerResponse, info: RequestInfo): void {
  if (!res.headersSent && !res.hasHeader('x-request-id')) res.setHeader('x-request-id', info.id);
}
