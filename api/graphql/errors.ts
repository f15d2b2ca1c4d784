import { GraphQLError } from 'graphql';
import { AppError } from '../errors';

/**
 * GraphQL's side of the one error convention: an expected failure keeps its message
 * and carries `extensions.code` (and `fields` for bad input); its HTTP status travels
 * in `extensions.http`, which yoga applies and strips. Everything else is masked.
 */
export function toGraphQLError(error: unknown, log: (err: unknown) => void): GraphQLError {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
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
  // Errors graphql-js raised itself (syntax, validation, variable coercion) are the client's.
  if (error instanceof GraphQLError && !error.originalError) return error;
  if (error instanceof GraphQLError && error.originalError instanceof GraphQLError) return error.originalError;
  log(original);
  return new GraphQLError('Unexpected error.', {
    nodes: error instanceof GraphQLError ? error.nodes : undefined,
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  });
}
