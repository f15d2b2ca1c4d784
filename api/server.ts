import { createYoga } from 'graphql-yoga';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { agentRoutes } from './agents/agents.routes';
import type { App } from './app';
import { requirePrincipal } from './auth/authenticator';
import type { Principal } from './auth/tokens';
import { AppError } from './errors';
import { createContext, type GraphQLContext } from './graphql/context';
import { toGraphQLError } from './graphql/errors';
import { subscribeShared } from './graphql/shared-subscribe';
import { livenessRoutes } from './liveness/liveness.routes';
import { schema } from './graphql/schema';
import { MAX_BODY_BYTES, readBody, sendError, sendJson } from './http/http';
import { match, type Route } from './http/router';
import { serveDashboard } from './http/static';

const routes: Route[] = [...livenessRoutes, ...agentRoutes];

/** A JSON object body, parsed; anything else stays raw, for yoga to read (or refuse) in its own words. */
function parsedIfJsonObject(req: IncomingMessage, body: Buffer): unknown {
  if (!req.headers['content-type']?.includes('json')) return body;
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) return value;
  } catch {
    // not JSON
  }
  return body;
}

export interface HttpServer {
  server: http.Server;
  close(): Promise<void>;
}

/** One node:http server for /graphql, /api/v1, /dashboard and /health. */
export function createHttpServer(app: App): HttpServer {
  const { log } = app;
  const mask = (error: unknown) => toGraphQLError(error, (err) => log.error('graphql error', err));
  const yoga = createYoga<GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    maskedErrors: { maskError: mask },
    // Validation errors come back as a result, not through maskError; give them the same 400.
    plugins: [
      {
        onValidate: () => ({ result, setResult }: { result: readonly unknown[]; setResult(errors: unknown[]): void }) => {
          if (result.length > 0) setResult(result.map(mask));
        },
      },
      {
        // An SSE subscription ends when its client leaves, not at its next event: the
        // adapter aborts the request's signal on disconnect, and that closes the stream.
        onSubscribe: ({ args }: { args: { contextValue: { request?: Request } } }) => ({
          onSubscribeResult: ({ result }: { result: unknown }) => {
            const signal = args.contextValue.request?.signal;
            const stream = result as Partial<AsyncIterator<unknown>>;
            if (signal && typeof stream.return === 'function') signal.addEventListener('abort', () => void stream.return!(), { once: true });
          },
        }),
      },
    ],
    graphiql: {
      title: 'Agent Monitor GraphQL',
      defaultQuery: '{\n  viewer { role }\n  agentStatusCounts { online degraded offline total }\n}\n',
      headers: JSON.stringify({ Authorization: 'Bearer <paste your admin or viewer token>' }),
    },
  });

  async function graphql(req: IncomingMessage, res: ServerResponse, search: string) {
    const isGraphiQL = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && !new URLSearchParams(search).has('query');
    let principal: Principal | undefined;
    try {
      principal = isGraphiQL ? undefined : requirePrincipal(app.authenticator.authenticate(req.headers.authorization));
    } catch (err) {
      // Refused before execution, but still answered the way GraphQL clients read errors.
      if (!(err instanceof AppError)) throw err;
      return sendJson(res, err.status, { errors: [{ message: err.message, extensions: { code: err.code } }] });
    }
    // Read here, within the size limit; yoga's Node adapter takes an already-read body
    // from `req.body`, and a parsed JSON object without turning it back into a stream.
    if (req.method !== 'GET' && req.method !== 'HEAD') (req as IncomingMessage & { body?: unknown }).body = parsedIfJsonObject(req, await readBody(req));
    // The adapter aborts the operation (and ends an SSE stream) when the client leaves,
    // and writes the answer, streamed or whole.
    await yoga.handle(req, res, createContext(app.database.db, app.services, principal));
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    // Split by hand: a URL object per request is a measurable share of a heartbeat's cost.
    let target = req.url ?? '/';
    if (!target.startsWith('/')) {
      // The absolute form ("GET http://host/path") is legal too, if rare.
      const url = new URL(target, 'http://localhost');
      target = url.pathname + url.search;
    }
    const q = target.indexOf('?');
    const pathname = q < 0 ? target : target.slice(0, q);
    const search = q < 0 ? '' : target.slice(q);
    if (pathname.startsWith('/api/')) {
      const { route, params } = match(routes, req.method ?? 'GET', pathname);
      const principal: Principal = requirePrincipal(app.authenticator.authenticate(req.headers.authorization));
      return route.handle({ req, res, search, params, principal, services: app.services });
    }
    if (pathname === '/graphql') return graphql(req, res, search);
    if (pathname === '/health') {
      return sendJson(res, 200, { status: 'ok', database: app.database.kind });
    }
    if (pathname === '/') {
      res.writeHead(302, { location: '/dashboard/' }).end();
      return;
    }
    if (pathname === '/dashboard' || pathname.startsWith('/dashboard/')) return serveDashboard(pathname, res);
    throw new AppError('NOT_FOUND', `nothing at ${pathname}`);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (res.headersSent) {
        log.error('error after response started', err);
        res.destroy();
      } else if (err instanceof AppError) {
        sendError(res, err);
      } else if (err instanceof URIError) {
        sendError(res, new AppError('BAD_REQUEST', 'malformed URL encoding'));
      } else {
        log.error(`${req.method} ${req.url} failed`, err);
        sendJson(res, 500, { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error.' } });
      }
    });
  });
  // Keep-alive connections from agents would otherwise hold close() open.
  server.keepAliveTimeout = 5_000;

  // graphql-ws on the same port and path. The operator token arrives as the
  // connection_init payload {"authorization": "Bearer …"}; a missing or bad one closes
  // the socket with 4403.
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  const principals = new WeakMap<object, Principal>();
  // Formatted as JSON: the HTTP status yoga uses has no meaning on a socket.
  const wsError = (e: unknown) => {
    const { extensions, ...rest } = mask(e).toJSON();
    const { http: _status, ...ext } = (extensions ?? {}) as Record<string, unknown>;
    return { ...rest, extensions: ext };
  };
  const ws = useServer<{ authorization?: unknown }>(
    {
      schema,
      // Generous, so a busy server does not turn away a client that did send its init.
      connectionInitWaitTimeout: 10_000,
      onConnect: (ctx) => {
        try {
          const principal = app.authenticator.authenticate(ctx.connectionParams?.authorization);
          if (!principal || (principal.role !== 'admin' && principal.role !== 'viewer')) return false;
          principals.set(ctx.extra.socket, principal);
          return true;
        } catch {
          return false;
        }
      },
      context: (ctx) => createContext(app.database.db, app.services, principals.get(ctx.extra.socket)),
      subscribe: (args) => subscribeShared(args, (args.contextValue as { principal?: Principal }).principal?.role ?? ''),
      onError: (_ctx, _id, _payload, errors) => errors.map(wsError),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e: GraphQLError) => wsError(e)) } : undefined,
    },
    wss,
    app.config.wsKeepAliveMs,
  );
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/graphql') return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
  });

  return {
    server,
    close: async () => {
      await ws.dispose();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
