import { defineConfig } from 'vitest/config';
import { graphqlAlias } from './test/graphql-alias';

const TIMING = 'test/api/**/*.timing.test.ts';
/** Suites about PostgreSQL alone (several processes on one server, a cut-off database). */
const POSTGRES_ONLY = 'test/api/**/*.postgres.test.ts';

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
      exclude: env.TEST_DB === 'postgres' ? [TIMING] : [TIMING, POSTGRES_ONLY],
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

/**
 * Without TEST_DATABASE_URL the PostgreSQL project is left out, with the reason on
 * screen, except where REQUIRE_POSTGRES=1 (CI): there a green run must mean the suites
 * really ran on PostgreSQL, so a missing URL is a failure.
 */
function postgresProjects() {
  if (process.env.TEST_DATABASE_URL) return api('api-postgres', { TEST_DB: 'postgres' }, 3);
  const reason = 'TEST_DATABASE_URL is not set (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)';
  if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`REQUIRE_POSTGRES=1 but the PostgreSQL suites cannot run: ${reason}`);
  process.stderr.write(`\n[api-postgres] PostgreSQL suites SKIPPED: ${reason}. Set REQUIRE_POSTGRES=1 to fail instead.\n\n`);
  return [];
}

// The API suites run on embedded PGlite, and again on real PostgreSQL when
// TEST_DATABASE_URL names a server (each test file gets its own database there).
export default defineConfig({
  test: {
    projects: [
      ...api('api', { TEST_DB: 'pglite' }, 2),
      ...postgresProjects(),
      'dashboard/vitest.unit.config.ts',
      'test/e2e/vitest.e2e.config.ts',
    ],
  },
});
