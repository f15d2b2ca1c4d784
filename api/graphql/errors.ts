import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable } from '../db';
import { AppError, databaseUnavailable } from '../errors';

/**
 * GraphQL's side of the one error convention: an expected failure keeps its message
 * and carries `extensions.code` (and `fields` for bad input); its HTTP status travels
 * in `extensions.http`, which yoga applies and strips. Everything else is masked.
 */
export function toGraphQLError(error: unknown, log: (err: unknown) => void): GraphQLError {
  let original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  // Pothos refuses impossible paging arguments (a bad cursor, first < 0) this way.
  if (original instanceof PothosValidationError) original = new AppError('BAD_USER_INPUT', original.message);
  // An outage is no bug of the request: 503 with Retry-After, logged (throttled) by the caller.
  if (!(original instanceof AppError) && isDatabaseUnavailable(original)) {
    log(original);
    original = databaseUnavailable();
  }
  if (original instanceof AppError) {
    const gqlError = error instanceof GraphQLError ? error : undefined;
    return new GraphQLError(original.message, {
      nodes: gqlError?.nodes,
      path: gqlError?.path,
      extensions: {
        code: original.code,
        ...(original.fields ? { fields: original.fields } : {}),
        http: {
          status: original.status,
          ...(original.retryAfter !== undefined ? { headers: { 'retry-after': String(original.retryAfter) } } : {}),
        },
      },
    });
  }
  // Raised before execution (syntax, validation, variable coercion, an HTTP method yoga
  // does not serve): the request is at fault, so it is a 4xx for every client, also one
  // that accepts plain application/json.
  if (error instanceof GraphQLError && !error.path && (!error.originalError || error.originalError instanceof GraphQLError)) {
    return documentError(error);
  }
  log(original);
  return new GraphQLError('Unexpected error.', {
    nodes: error instanceof GraphQLError ? error.nodes : undefined,
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR', http: { status: 500 } },
  });
}

function documentError(error: GraphQLError): GraphQLError {
  // e.g. Variable "$input" got invalid value 1.5 at "input.port"; Int cannot represent …
  const variable = /^Variable "\$(\w+)" got invalid value .*?(?: at "([^"]+)")?;/.exec(error.message);
  const http = (error.extensions.http ?? {}) as { status?: number; headers?: Record<string, string> };
  const code = variable ? 'BAD_USER_INPUT' : ((error.extensions.code as string | undefined) ?? 'GRAPHQL_VALIDATION_FAILED');
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: {
      ...error.extensions,
      code,
      ...(variable ? { fields: { [variable[2] ?? variable[1]]: error.message.slice(error.message.indexOf(';') + 2) } } : {}),
      // `spec: false`: yoga would otherwise answer 200 to clients that accept application/json.
      http: { status: http.status ?? 400, spec: false, ...(http.headers ? { headers: http.headers } : {}) },
    },
  });
}
