import { describe, expect, it } from 'vitest';
import { CombinedError } from '@urql/core';
import { GraphQLError } from 'graphql';
import { describeError, isTokenRejected } from '../../dashboard/src/lib/errors';

const gqlError = (code: string, extra: Record<string, unknown> = {}) =>
  new CombinedError({ graphQLErrors: [new GraphQLError('nope', { extensions: { code, ...extra } })] });

describe('API errors as the dashboard reads them', () => {
  it('field messages of BAD_USER_INPUT are kept by input path', () => {
    const p = describeError(gqlError('BAD_USER_INPUT', { fields: { key: 'too long', value: 'not JSON' } }));
    expect(p).toEqual({ message: 'nope', code: 'BAD_USER_INPUT', fields: { key: 'too long', value: 'not JSON' } });
  });

  it('a network failure reads as the server being unreachable', () => {
    const p = describeError(new CombinedError({ networkError: new Error('fetch failed') }));
    expect(p.code).toBe('NETWORK');
  });

  it('an unknown token (FORBIDDEN) or a missing one (UNAUTHENTICATED) means sign in again', () => {
    expect(isTokenRejected(gqlError('FORBIDDEN'))).toBe(true);
    expect(isTokenRejected(gqlError('UNAUTHENTICATED'))).toBe(true);
    expect(isTokenRejected(gqlError('NOT_FOUND'))).toBe(false);
    expect(isTokenRejected(undefined)).toBe(false);
  });
});
