import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from '../auth/tokens';
import { AppError, methodNotAllowed } from '../errors';
import type { Services } from '../graphql/context';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** The query string, with its leading '?', or empty. */
  search: string;
  params: string[];
  principal?: Principal;
  services: Services;
}

export interface Route {
  method: string;
  path: RegExp;
  handle(ctx: RouteContext): Promise<void>;
  /** Answered by the thousand (heartbeats): successes are logged at debug only. */
  quiet?: boolean;
  /** The handler's own write matches the agent token's hash, so the door need not look it up first. */
  tokenCheckedByWrite?: boolean;
}

const labels = new WeakMap<Route, string>();

/** "POST /api/v1/agents/:id/heartbeat": the route as logs and metrics name it, from its pattern. */
export function routeLabel(route: Route): string {
  let label = labels.get(route);
  if (!label) {
    const path = route.path.source.replace(/^\^/, '').replace(/(\\\/\?)?\$$/, '').replaceAll('([^/]+)', ':id').replaceAll('\\/', '/');
    labels.set(route, (label = `${route.method} ${path || '/'}`));
  }
  return label;
}

/**
 * Finds the route for a request; a known path with another method is a 405, not a 404.
 * HEAD is answered by the GET route, as RFC 9110 asks: the same status and headers, and
 * node:http leaves the body out of an answer to HEAD.
 */
export function match(routes: Route[], method: string, pathname: string): { route: Route; params: string[] } {
  let allowed: Set<string> | undefined;
  const wanted = method === 'HEAD' ? 'GET' : method;
  for (const route of routes) {
    const m = route.path.exec(pathname);
    if (!m) continue;
    if (route.method === wanted) return { route, params: m.slice(1).map(safeDecode) };
    (allowed ??= new Set()).add(route.method);
    if (route.method === 'GET') allowed.add('HEAD');
  }
  if (allowed) throw methodNotAllowed(method, pathname, [...allowed].sort());
  throw new AppError('NOT_FOUND', `no route for ${method} ${pathname}`);
}

function safeDecode(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new AppError('NOT_FOUND', `malformed path segment "${segment}"`);
  }
}
