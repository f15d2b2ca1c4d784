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

export function isAuthError(error: CombinedError | undefined): boolean {
  if (!error) return false;
  if (error.response && (error.response as Response).status === 401) return true;
  return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}
