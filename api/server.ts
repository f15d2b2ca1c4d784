import { createYoga } from 'graphql-yoga';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { agentRoutes } from './agents/agents.routes';
import type { App } from './app';
import { requirePrincipal } from './auth/authenticator';
import type { Principal } from './auth/tokens';
import { AppError } from './errors';
import { toGraphQLError } from './graphql/errors';
import { schema } from './graphql/schema';
import { readBody, sendError, sendJson } from './http/http';
import { match, type Route } from './http/router';
import { serveDashboard } from './http/static';
import { createLogger } from './log';

const routes: Route[] = [...agentRoutes];

export interface HttpServer {
  server: http.Server;
  close(): Promise<void>;
}

/** One node:http server for /graphql, /api/v1, /dashboard and /health. */
export function createHttpServer(app: App): HttpServer {
  const log = createLogger(app.config.logLevel);
  const yoga = createYoga({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    maskedErrors: { maskError: (error) => toGraphQLError(error, (err) => log.error('graphql error', err)) },
    graphiql: {
      title: 'Agent Monitor GraphQL',
      defaultQuery: '{\n  viewer { role }\n  agentStatusCounts { online degraded offline total }\n}\n',
      headers: JSON.stringify({ Authorization: 'Bearer <paste your admin or viewer token>' }),
    },
  });

  async function graphql(req: IncomingMessage, res: ServerResponse, url: URL) {
    const isGraphiQL = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && !url.searchParams.has('query');
    const principal = isGraphiQL ? undefined : requirePrincipal(app.authenticator.authenticate(req.headers.authorization));
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : await readBody(req);
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const response = await yoga.fetch(
      url,
      { method: req.method, headers: req.headers as Record<string, string>, body, signal: abort.signal },
      { principal, db: app.database.db, services: app.services },
    );
    res.writeHead(response.status, Object.fromEntries(response.headers));
    if (!response.body) return void res.end();
    try {
      for await (const chunk of response.body) res.write(chunk);
    } catch {
      // the client went away mid-stream
    }
    res.end();
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const { pathname } = url;
    if (pathname === '/health') {
      return sendJson(res, 200, { status: 'ok', database: app.database.kind });
    }
    if (pathname === '/') {
      res.writeHead(302, { location: '/dashboard/' }).end();
      return;
    }
    if (pathname === '/dashboard' || pathname.startsWith('/dashboard/')) return serveDashboard(pathname, res);
    if (pathname === '/graphql') return graphql(req, res, url);
    if (pathname.startsWith('/api/')) {
      const { route, params } = match(routes, req.method ?? 'GET', pathname);
      const principal: Principal = requirePrincipal(app.authenticator.authenticate(req.headers.authorization));
      return route.handle({ req, res, url, params, principal, services: app.services });
    }
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

  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
