import { AppError } from '../errors';

export interface Target {
  pathname: string;
  /** The query string, with its leading '?', or empty. */
  search: string;
}

const malformed = (why: string) => new AppError('BAD_REQUEST', `malformed request target: ${why}`);

/**
 * Splits a request target into path and query, or refuses it with 400. Origin form
 * ("/path?query") is split by hand, since a URL object per request is a measurable share
 * of a heartbeat's cost; absolute form ("http://host/path") goes through URL, inside a
 * try, since a target such as "http://[" makes it throw. A target that starts with "//"
 * is refused rather than guessed at: URL would read it as a host name.
 */
export function parseTarget(raw: string | undefined): Target {
  let target = raw ?? '/';
  if (target.charCodeAt(0) === 47 /* / */) {
    if (target.charCodeAt(1) === 47) throw malformed('a path must not begin with "//"');
  } else if (/^https?:\/\//i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw malformed('not a valid absolute URL');
    }
    target = url.pathname + url.search;
  } else {
    throw malformed('expected a path beginning with "/" or an absolute http(s) URL');
  }
  const q = target.indexOf('?');
  return q < 0 ? { pathname: target, search: '' } : { pathname: target.slice(0, q), search: target.slice(q) };
}
