import { defineConfig } from 'vitest/config';
import { graphqlAlias } from './test/graphql-alias';

const TIMING = 'test/api/**/*.timing.test.ts';

/**
 * API suites on one database. Suites whose assertions are about time (a deadline met
 * within 1 s, pings answered) run in a later group, one file at a time, so the rest of
 * the run cannot starve them of CPU on a 2-core machine.
 */
const api = (name: string, env: Record<string, string>, timingGroup: number) => [
  {
    resolve: graphqlAlias,
    test: {
      name,
      include: ['test/api/**/*.test.ts'],
      exclude: [TIMING],
      environment: 'node' as const,
      env,
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  },
  {
    resolve: graphqlAlias,
    test: {
      name: `${name}-timing`,
      include: [TIMING],
      environment: 'node' as const,
      env,
      testTimeout: 60_000,
      hookTimeout: 180_000,
      fileParallelism: false,
      sequence: { groupOrder: timingGroup },
    },
  },
];

// The API suites run on embedded PGlite, and again on real PostgreSQL when
// TEST_DATABASE_URL names a server (each test file gets its own database there).
export default defineConfig({
  test: {
    projects: [
      ...api('api', { TEST_DB: 'pglite' }, 2),
      ...(process.env.TEST_DATABASE_URL ? api('api-postgres', { TEST_DB: 'postgres' }, 3) : []),
      'dashboard/vitest.unit.config.ts',
      'test/e2e/vitest.e2e.config.ts',
    ],
  },
});
