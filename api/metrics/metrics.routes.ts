import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app';
import type { AgentPrincipal, Principal } from '../auth/tokens';
import type { MetricsConfig } from '../config';
import { AppError } from '../errors';
import { closeIfBodyUnread, decodeBody, MAX_INFLATED_JSON_BYTES, parseJsonBody, readBody, sendJson } from '../http/http';
import type { Route } from '../http/router';
import { authorizePush, type IngestResult } from './metrics.ingest';
import { parseMetricList } from './metrics.args';
import { decodeOtlpProtobuf, type Decoded } from './otlp.decoder';
import { decodeOtlpJson } from './otlp.json';
import { DecodeError, TooLargeError } from './protobuf.wire';
import { OtlpResponse, RpcStatus } from './proto';
import { decodeRemoteWrite } from './remote-write.decoder';

export const OTLP_METRICS_PATH = '/v1/metrics';

/** Reads a body within the metric doors' limit and undoes `Content-Encoding: gzip`; a JSON body to MAX_INFLATED_JSON_BYTES at most. */
async function readEncodedBody(req: IncomingMessage, config: MetricsConfig, allowed: string[], json: boolean): Promise<Buffer> {
  // JSON.parse reads in one turn of the event loop (16 MiB of one string held it for a
  // quarter of a second), and 20 000 points, the most a request may carry, take 2-3 MiB.
  const maxDecoded = json ? Math.min(config.maxDecodedBytes, MAX_INFLATED_JSON_BYTES) : config.maxDecodedBytes;
  // Snappy (remote write's) is undone by its decoder, gzip here.
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (!allowed.includes(encoding)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding must be ${allowed.join(' or ')}, got "${encoding}"`);
  const body = await readBody(req, config.maxBodyBytes);
  return encoding === 'gzip' ? decodeBody(body, 'gzip', maxDecoded) : body;
}

const mediaType = (req: IncomingMessage) => (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();

/** Adds the refusals a decoder made to the ingest's own. */
function merged(result: IngestResult, decoded: Decoded): IngestResult {
  const extra = decoded.refused.reduce((n, r) => n + r.count, 0);
  return {
    accepted: result.accepted,
    rejected: result.rejected + extra,
    problems: [...decoded.refused.map((r) => `${r.count} point${r.count === 1 ? '' : 's'}: ${r.reason}`), ...result.problems],
  };
}

export const metricRoutes: Route[] = [
  {
    method: 'POST',
    path: /^\/api\/v1\/agents\/([^/]+)\/metrics\/?$/,
    handle: async ({ req, res, params, principal, services }) => {
      const config = services.metrics.config;
      // The token's kind and agent first: a token that may not push is refused unread.
      authorizePush(principal, params[0]);
      const body = await readEncodedBody(req, config, ['identity', 'gzip'], true);
      const value = parseJsonBody(body);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AppError('BAD_REQUEST', 'request body must be a JSON object like {"metrics":[…]}');
      const points = parseMetricList((value as { metrics?: unknown }).metrics, services.metrics.now());
      const result = await services.metrics.ingest(principal, params[0], points, 'strict');
      sendJson(res, 200, { accepted: result.accepted });
    },
  },
  {
    // Prometheus remote write 1.0. Senders retry 5xx and drop on 4xx, so refused samples
    // get a 400 (the accepted ones of the same request are written), and only what a
    // retry can fix (load shedding, the database away) gets a 5xx.
    method: 'POST',
    path: /^\/api\/v1\/write\/?$/,
    handle: async ({ req, res, principal, services }) => {
      const config = services.metrics.config;
      try {
        // The token first, as on the other doors: one that may not push learns nothing of the body's rules.
        authorizePush(principal, undefined);
        if (mediaType(req) !== 'application/x-protobuf') throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/x-protobuf');
        const body = await readEncodedBody(req, config, ['snappy'], false);
        const decoded = await decodeOrFail(() => decodeRemoteWrite(body, config.maxDecodedBytes));
        const result = merged(await services.metrics.ingest(principal, undefined, decoded.points, 'partial'), decoded);
        if (result.rejected === 0) {
          res.writeHead(204).end();
          return;
        }
        const message = `${result.accepted} samples written, ${result.rejected} refused: ${result.problems.join('; ')}`;
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(message) }).end(message);
      } catch (err) {
        throw retryable(err, services.metrics.onUnexpected);
      }
    },
  },
];

async function decodeOrFail<T>(decode: () => T | Promise<T>): Promise<T> {
  try {
    return await decode();
  } catch (err) {
    if (err instanceof TooLargeError) throw new AppError('PAYLOAD_TOO_LARGE', err.message);
    if (err instanceof DecodeError) throw new AppError('BAD_REQUEST', err.message);
    throw err;
  }
}

/**
 * For the push protocols, whose senders retry what they are told is temporary: shedding
 * load is a 503 (Prometheus 2.42 does not retry a 429), and so is an unexpected failure
 * (the database away), logged; an AppError keeps its status.
 */
function retryable(err: unknown, log: (err: unknown) => void): AppError {
  if (err instanceof AppError) return err.code === 'RATE_LIMITED' ? new AppError('SERVICE_UNAVAILABLE', err.message, undefined, err.retryAfter ?? 1) : err;
  log(err);
  return new AppError('SERVICE_UNAVAILABLE', 'the server could not store the samples now; retry later', undefined, 5);
}

/**
 * OTLP/HTTP metrics (`POST /v1/metrics`). Answers in the request's own encoding: 200 with
 * an ExportMetricsServiceResponse (with partial_success when points were refused), or a
 * google.rpc.Status with 400, 401, 403, 413, 415, or a retryable 429/503 with Retry-After.
 */
export async function handleOtlp(app: App, req: IncomingMessage, res: ServerResponse, verifyAgentToken: (principal: AgentPrincipal) => Promise<void>): Promise<void> {
  const json = mediaType(req) === 'application/json';
  const answer = (status: number, body: Record<string, unknown>, type: typeof OtlpResponse, headers: Record<string, string> = {}) => {
    const payload = json ? Buffer.from(JSON.stringify(body)) : Buffer.from(type.encode(type.fromObject(body)).finish());
    res.writeHead(status, { 'content-type': json ? 'application/json' : 'application/x-protobuf', 'content-length': payload.length, ...headers });
    res.end(payload);
  };
  const metrics = app.services.metrics;
  try {
    if (req.method !== 'POST') throw new AppError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${OTLP_METRICS_PATH}`, undefined, undefined, { allow: 'POST' });
    if (!json && mediaType(req) !== 'application/x-protobuf') throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/x-protobuf or application/json');
    const principal: Principal | undefined = app.authenticator.authenticate(req.headers.authorization);
    if (!principal) throw new AppError('UNAUTHENTICATED', 'a bearer token is required: send "Authorization: Bearer <agent token>"');
    if (principal.role !== 'agent') throw new AppError('FORBIDDEN', "OTLP metrics need the agent's own token");
    // Checked against its agent before the body is read: a forged token buys no decoding.
    await verifyAgentToken(principal);
    const body = await readEncodedBody(req, metrics.config, ['identity', 'gzip'], json);
    const now = metrics.now();
    const decoded = await decodeOrFail(() => (json ? decodeOtlpJson(body, now) : decodeOtlpProtobuf(body, now)));
    const result = merged(await metrics.ingest(principal, undefined, decoded.points, 'partial'), decoded);
    const partial = result.rejected > 0 ? { partialSuccess: { rejectedDataPoints: result.rejected, errorMessage: result.problems.join('; ') } } : {};
    answer(200, partial, OtlpResponse);
  } catch (caught) {
    const err = caught instanceof AppError && caught.code !== 'RATE_LIMITED' ? caught : retryable(caught, metrics.onUnexpected);
    const headers: Record<string, string> = { ...err.headers };
    if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
    if (err.code === 'PAYLOAD_TOO_LARGE') headers.connection = 'close';
    closeIfBodyUnread(res);
    // A RATE_LIMITED keeps its 429, which OTLP senders retry.
    const status = caught instanceof AppError && caught.code === 'RATE_LIMITED' ? 429 : err.status;
    answer(status, { code: GRPC_CODE[status] ?? 2, message: err.message }, RpcStatus, headers);
  }
}

// google.rpc.Code for each HTTP status the door answers with.
const GRPC_CODE: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 503: 14 };

