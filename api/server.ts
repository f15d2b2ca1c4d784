import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { agentRoutes } from './agents/agents.routes';
import { alertRoutes } from './alerts/alerts.routes';
import type { App } from './app';
import { AgentTokenVerifier } from './auth/agent-tokens';
import { requirePrincipal } from './auth/authenticator';
import { bearer, digestToken, sameDigest, type Principal } from './auth/tokens';
import { isDatabaseUnavailable } from './db';
import { AppError, databaseUnavailable } from './errors';
import { createGraphQLDoor } from './http/graphql';
import { closeIfBodyUnread, sendError, sendJson } from './http/http';
import { Readiness } from './http/health';
import { checkHeaders, readOnlyDoor, requireRead, tooManyHeaders } from './http/request-checks';
import { observeRequest, showRequestId, type RequestInfo, type RequestObserver } from './http/observe';
import { match, routeLabel, type Route } from './http/router';
import { handleOtlp, metricRoutes, OTLP_METRICS_PATH } from './metrics/metrics.routes';
import { serveDashboard } from './http/static';
import { parseTarget } from './http/target';
import { createWebSocketDoor } from './http/websocket';
import { livenessRoutes } from './liveness/liveness.routes';
import { createTelemetry, type Telemetry } from './telemetry/prometheus';

const routes: Route[] = [...livenessRoutes, ...metricRoutes, ...agentRoutes, ...alertRoutes];

export interface HttpServer {
  server: http.Server;
  /** /metrics' registry. */
  telemetry: Telemetry;
  /**
   * Stops taking work and finishes what was taken: /ready answers 503 at once; after
   * `delayMs` (time for a load balancer to notice) the server stops accepting connections,
   * answers every request it has read (each with `Connection: close`), ends SSE streams
   * and closes WebSockets with 1001. Resolves once no request is left.
   */
  drain(delayMs?: number): Promise<void>;
  /** Drops whatever connections remain, for a drain that ran out of time. */
  destroy(): void;
  close(): Promise<void>;
}

/** A whole HTTP answer written straight to a socket, for doors that have no ServerResponse. */
function rawAnswer(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/**
 * A request's head as it came (node:http reads header bytes as latin1, so this gives the
 * same bytes back), less its Upgrade and HTTP2-Settings headers and those tokens of its
 * Connection header.
 */
function requestHeadWithoutUpgrade(req: IncomingMessage): Buffer {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'upgrade' || name === 'http2-settings') continue;
    let value = raw[i + 1];
    if (name === 'connection') {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && !/^(upgrade|http2-settings)$/i.test(t))
        .join(', ');
      if (value === '') continue;
    }
    head += `${raw[i]}: ${value}\r\n`;
  }
  return Buffer.from(`${head}\r\n`, 'latin1');
}

/** One node:http server for /graphql (HTTP and WebSocket), /api/v1, /dashboard and /health. */
export function createHttpServer(app: App): HttpServer {
  const { log } = app;
  const readiness = new Readiness(app.database, log);
  const agentTokens = new AgentTokenVerifier(app.database.db, app.config.agentTokenCacheMs);
  /**
   * The request's principal. An agent token is checked against its agent's row, unless it
   * is the token of `checkedByWrite`: the agent whose row the handler's own write matches
   * on the token's hash. Without a check to wait for, the principal itself, not a promise.
   */
  const principalOf = (authorization: unknown, checkedByWrite?: string): Principal | Promise<Principal> => {
    const principal = requirePrincipal(app.authenticator.authenticate(authorization));
    if (principal.role !== 'agent' || principal.agentId === checkedByWrite) return principal;
    return agentTokens.verify(principal).then(() => principal);
  };
  const graphql = createGraphQLDoor(app, async (authorization) => principalOf(authorization));
  const websocket = createWebSocketDoor(app, graphql);
  /** Requests read and not yet answered: a drain waits for them. */
  const active = new Set<ServerResponse>();
  let idle: (() => void) | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse, info: RequestInfo) {
    const { pathname, search } = parseTarget(req.url);
    checkHeaders(req);
    if (pathname.startsWith('/api/')) {
      const { route, params } = match(routes, req.method ?? 'GET', pathname);
      info.route = routeLabel(route);
      info.quiet = route.quiet === true;
      if (!info.quiet) showRequestId(res, info);
      // A heartbeat's write checks its own agent's token; one for another agent is checked here, so revoked is 401 and valid 403.
      const checked = principalOf(req.headers.authorization, route.tokenCheckedByWrite ? params[0] : undefined);
      const principal = checked instanceof Promise ? await checked : checked;
      return route.handle({ req, res, search, params, principal, services: app.services });
    }
    showRequestId(res, info);
    if (pathname === '/graphql') {
      info.route = '/graphql';
      return graphql.handle(req, res, search);
    }
    if (pathname === OTLP_METRICS_PATH) {
      info.route = OTLP_METRICS_PATH;
      return handleOtlp(app, req, res, (principal) => agentTokens.verify(principal));
    }
    const door = readOnlyDoor(pathname);
    if (door) {
      info.route = door;
      requireRead(req, pathname);
    }
    switch (door) {
      case '/health':
        return readiness.health(res);
      case '/ready':
        return readiness.ready(res);
      case '/metrics':
        return serveMetrics(req, res);
      case '/':
        res.writeHead(302, { location: '/dashboard/' }).end();
        return;
      case '/dashboard':
        return serveDashboard(pathname, res, undefined, req.headers['accept-encoding']);
    }
    throw new AppError('NOT_FOUND', `nothing at ${pathname}`);
  }

  const telemetry = createTelemetry(app, {
    sockets: () => websocket.stats().sockets,
    subscriptions: () => websocket.stats().subscriptions,
    sseStreams: () => graphql.openStreams(),
  });
  const observe: RequestObserver = (info, method, status, seconds, res) => {
    telemetry.request(info.route, method, status, seconds);
    active.delete(res);
    if (active.size === 0) idle?.();
  };
  const metricsDigest = app.config.metricsToken ? digestToken(app.config.metricsToken) : undefined;

  /** Prometheus text; for METRICS_TOKEN, or an admin or viewer token. */
  async function serveMetrics(req: IncomingMessage, res: ServerResponse) {
    const token = bearer(req.headers.authorization);
    if (!(metricsDigest && token && sameDigest(digestToken(token), metricsDigest))) {
      // principalOf checks an agent token against its agent, as every other door does: a
      // forged or revoked one is 401, and only a valid agent token gets the 403 below.
      const principal = await principalOf(req.headers.authorization);
      if (principal.role !== 'admin' && principal.role !== 'viewer') throw new AppError('FORBIDDEN', 'this needs METRICS_TOKEN, or an admin or viewer token');
    }
    const text = await telemetry.registry.metrics();
    res.writeHead(200, { 'content-type': telemetry.registry.contentType, 'content-length': Buffer.byteLength(text) }).end(text);
  }

  /** The answer to whatever `handle` threw; never throws itself. */
  function answerError(req: IncomingMessage, res: ServerResponse, info: RequestInfo, err: unknown): void {
    try {
      showRequestId(res, info);
      if (res.headersSent) {
        log.error('error after response started', err);
        res.destroy();
      } else if (err instanceof AppError) {
        sendError(res, err);
      } else if (err instanceof URIError) {
        sendError(res, new AppError('BAD_REQUEST', 'malformed URL encoding'));
      } else if (isDatabaseUnavailable(err)) {
        log.error('database unavailable', err);
        sendError(res, databaseUnavailable());
      } else {
        log.error(`${req.method} request failed`, err);
        closeIfBodyUnread(res);
        sendJson(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' } });
      }
    } catch (inner) {
      log.error('could not answer an error', inner);
      res.destroy();
    }
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    active.add(res);
    // While draining, no connection is kept for another request.
    if (readiness.draining) res.shouldKeepAlive = false;
    const info = observeRequest(req, res, log, observe);
    try {
      handle(req, res, info).catch((err) => answerError(req, res, info, err));
    } catch (err) {
      answerError(req, res, info, err);
    }
  };
  const { httpHeadersTimeoutMs, httpRequestTimeoutMs } = app.config;
  const server = http.createServer(
    {
      // A client that stops sending mid-request (or sends a byte a minute) holds its socket this long, not node's 300 s.
      headersTimeout: httpHeadersTimeoutMs,
      requestTimeout: httpRequestTimeoutMs,
      // How often those are checked: node's default, 30 s, would let them run 30 s over.
      connectionsCheckingInterval: Math.min(1_000, httpHeadersTimeoutMs / 2),
    },
    onRequest,
  );
  // Keep-alive connections from agents would otherwise hold close() open.
  server.keepAliveTimeout = 5_000;
  // A client that sends its request and then half-closes (shutdown(SHUT_WR), as `nc -N`
  // and some probes do) still reads the answer: node:http would otherwise abort the
  // request it is serving and close the socket.
  (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.maxHeadersCount = 0;

  // Requests node:http cannot parse. Answered in the REST error shape; a client that has
  // gone, or one that sent nothing parseable at all, just loses its socket.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    try {
      if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      // Bad bytes after a request read whole and still being answered (pipelined, or an open
      // SSE stream): that answer is finished first, and nothing written into it; then the
      // socket goes. A request itself incomplete (its body stalled) is answered here.
      const answering = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
      if (answering && answering.req.complete && !answering.writableFinished) {
        answering.shouldKeepAlive = false;
        answering.once('close', () => socket.destroy());
        return;
      }
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      log.debug('malformed request', { code: err.code });
      rawAnswer(socket, status, status === 408 ? 'REQUEST_TIMEOUT' : status === 431 ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST', status === 431 ? 'request headers are too large' : `malformed request (${err.code ?? 'unparseable'})`);
    } catch (inner) {
      log.error('clientError handling', inner);
      socket.destroy();
    }
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // Once upgraded, node:http no longer watches the socket: an error here would be uncaught.
    socket.on('error', (err) => log.debug('upgrade socket error', err));
    try {
      if (/^websocket$/i.test(req.headers.upgrade ?? '') && parseTarget(req.url).pathname === '/graphql') return websocket.upgrade(req, socket, head);
    } catch {
      // a malformed target: answered below like any other request
    }
    // Any other upgrade (h2c, as `curl --http2` asks for, or WebSocket elsewhere) is
    // ignored, as RFC 9110 lets a server do. node:http has handed the socket over without
    // reading the body; the request is put back in front of what is left unread, without
    // its Upgrade, and the socket given to node:http again as a new connection, which
    // reads the whole request, body and all, as an ordinary one.
    // With too many headers to rebuild the request from, it is refused as any other door refuses it.
    const tooMany = tooManyHeaders(req);
    if (tooMany) return rawAnswer(socket, tooMany.status, tooMany.code, tooMany.message);
    try {
      socket.unshift(Buffer.concat([requestHeadWithoutUpgrade(req), head]));
      server.emit('connection', socket);
    } catch (err) {
      log.error('upgrade failed', err);
      rawAnswer(socket, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
    }
  });

  async function drain(delayMs = 0): Promise<void> {
    if (readiness.draining) return;
    readiness.draining = true;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    // Stops listening and closes idle keep-alive connections; busy ones close after their answer.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const res of active) if (!res.headersSent) res.shouldKeepAlive = false;
    graphql.endStreams();
    await websocket.close();
    if (active.size > 0) await new Promise<void>((resolve) => (idle = resolve));
    server.closeIdleConnections();
    await closed;
  }

  return {
    server,
    telemetry,
    drain,
    destroy: () => server.closeAllConnections(),
    close: async () => {
      await websocket.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
