import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

// Vite would hand the server's own files graphql's ESM build (its "module" field) while
// yoga's executor, loaded by Node, gets the CommonJS one: two GraphQLError classes, so
// every expected error failed `instanceof` and was masked. One copy, as under tsx.
const graphqlMain = createRequire(import.meta.url).resolve('graphql');

const api = (name: string, env: Record<string, string>) => ({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlMain }] },
  test: {
    name,
    include: ['test/api/**/*.test.ts'],
    environment: 'node' as const,
    env,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

// The API suites run on embedded PGlite, and again on real PostgreSQL when
// TEST_DATABASE_URL names a server (each test file gets its own database there).
export default defineConfig({
  test: {
    projects: [
      api('api', { TEST_DB: 'pglite' }),
      ...(process.env.TEST_DATABASE_URL ? [api('api-postgres', { TEST_DB: 'postgres' })] : []),
      'dashboard/vitest.unit.config.ts',
      'test/e2e/vitest.e2e.config.ts',
    ],
  },
});
