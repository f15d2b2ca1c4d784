import { createRequire } from 'node:module';

/**
 * Vite would hand the server's own files graphql's ESM build (its "module" field) while
 * yoga's executor and graphql-ws, loaded by Node, get the CommonJS one: two GraphQLError
 * classes and two schema realms, so expected errors failed `instanceof` and were masked,
 * and subscriptions executed against "another" schema failed. Every project that runs
 * the server in-process resolves graphql to the one CommonJS copy, as under tsx.
 */
export const graphqlAlias = { alias: [{ find: /^graphql$/, replacement: createRequire(import.meta.url).resolve('graphql') }] };
