import type { CombinedError } from '@urql/core';

export interface ApiProblem {
  message: string;
  code: string | null;
  /** BAD_USER_INPUT details keyed by input path, e.g. { value: "must be JSON" }. */
  fields: Record<string, string>;
}

/** Flattens urql's CombinedError into what a form shows next to its inputs. */
export function describeError(error: CombinedError): ApiProblem {
  if (error.networkError) {
    return { message: 'The server cannot be reached.', code: 'NETWORK', fields: {} };
  }
  const first = error.graphQLErrors[0];
  const ext = (first?.extensions ?? {}) as { code?: unknown; fields?: unknown };
  const fields: Record<string, string> = {};
  if (ext.fields && typeof ext.fields === 'object') {
    for (const [k, v] of Object.entries(ext.fields)) fields[k] = String(v);
  }
  return {
    message: first?.message ?? error.message,
    code: typeof ext.code === 'string' ? ext.code : null,
    fields,
  };
}

/**
 * Whether a request was refused for its token: 401 (none, malformed, or not one the
 * server knows; 403 from servers before that). Only meaningful for the `viewer` query,
 * which every valid token may run; elsewhere a 403 means "this role may not", which is
 * no reason to sign out.
 */
export function isTokenRejected(error: CombinedError | undefined): boolean {
  if (!error) return false;
  const status = (error.response as Response | undefined)?.status;
  if (status === 401 || status === 403) return true;
  return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED' || e.extensions?.code === 'FORBIDDEN');
}

/**
 * The server's messages for one field and those beneath it (`labels` gathers `labels.team`), joined.
 * `except`: fields beneath it that are shown beside their own inputs, left out here.
 */
export function fieldError(fields: Record<string, string>, key: string, except: readonly string[] = []): string | undefined {
  const under = (k: string, parent: string) => k === parent || k.startsWith(`${parent}.`);
  const found = Object.entries(fields).filter(([k]) => under(k, key) && !except.some((e) => under(k, e)));
  if (found.length === 0) return undefined;
  return found.map(([k, m]) => (k === key ? m : `${k.slice(key.length + 1)}: ${m}`)).join('; ');
}
