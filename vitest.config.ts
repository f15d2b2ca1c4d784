import { defineConfig } from 'vitest/config';

const api = (name: string, env: Record<string, string>) => ({
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
    ],
  },
});
