import { graphql, type ResultOf } from './graphql';

/** The API keys page (admins only). */
export const ApiKeyFields = graphql(`
  fragment ApiKeyFields on ApiKey {
    id
    name
    role
    state
    prefix
    expiresAt
    defaultTags
    defaultEnvironment
    createdAt
    createdBy
    lastUsedAt
    revokedAt
    revokedBy
  }
`);
export type ApiKeyRow = ResultOf<typeof ApiKeyFields>;

export const ApiKeysQuery = graphql(
  `
    query ApiKeys($includeRevoked: Boolean) {
      apiKeys(includeRevoked: $includeRevoked) {
        ...ApiKeyFields
      }
    }
  `,
  [ApiKeyFields],
);

export const CreateApiKeyMutation = graphql(
  `
    mutation CreateApiKey($input: CreateApiKeyInput!) {
      createApiKey(input: $input) {
        secret
        key {
          ...ApiKeyFields
        }
      }
    }
  `,
  [ApiKeyFields],
);

export const RevokeApiKeyMutation = graphql(
  `
    mutation RevokeApiKey($id: ID!) {
      revokeApiKey(id: $id) {
        ...ApiKeyFields
      }
    }
  `,
  [ApiKeyFields],
);
