import type { IncomingMessage } from 'node:http';
import { AppError, methodNotAllowed } from '../errors';

/**
 * Headers one request may have. node:http is told to keep every header (its own cap
 * dropped those past about a thousand unseen, a second Host among them): the header
 * size limit bounds them, and a request with this many is refused.
 */
export const MAX_HEADERS = 500;

/** Headers node:http would keep the first of, silently dropping the rest; a request with two gets a 400 (RFC 9112 asks that of Host). */
const SINGLE_HEADERS = ['host', 'authorization', 'content-type'];

/** The 431 of a request with MAX_HEADERS headers or more, if it is one. */
export function tooManyHeaders(req: IncomingMessage): AppError | undefined {
  if (req.rawHeaders.length < 2 * MAX_HEADERS) return undefined;
  return new AppError('HEADERS_TOO_LARGE', `the request has ${MAX_HEADERS} headers or more; send fewer`);
}

/** Refuses a request with too many headers (431), or with one of SINGLE_HEADERS given twice (400). */
export function checkHeaders(req: IncomingMessage): void {
  const tooMany = tooManyHeaders(req);
  if (tooMany) throw tooMany;
  const raw = req.rawHeaders;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const length = raw[i].length;
    // Only names as long as one of the three are looked at closer: most headers cost one comparison.
    if (length !== 4 && length !== 13 && length !== 12) continue;
    const bit = SINGLE_HEADERS.indexOf(raw[i].toLowerCase());
    if (bit < 0) continue;
    if (seen & (1 << bit)) throw new AppError('BAD_REQUEST', `the request has more than one ${SINGLE_HEADERS[bit]} header; send it once`);
    seen |= 1 << bit;
  }
}

export type ReadOnlyDoor = '/health' | '/ready' | '/metrics' | '/' | '/dashboard';

/** The door of a path that only serves reads, if it is one (see requireRead). */
export function readOnlyDoor(pathname: string): ReadOnlyDoor | undefined {
  if (pathname === '/health' || pathname === '/ready' || pathname === '/metrics' || pathname === '/') return pathname;
  return pathname === '/dashboard' || pathname.startsWith('/dashboard/') ? '/dashboard' : undefined;
}

/** Such a door answers GET and HEAD; any other method is a 405 that says so. */
export function requireRead(req: IncomingMessage, pathname: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed(req.method ?? '', pathname, ['GET', 'HEAD']);
}
