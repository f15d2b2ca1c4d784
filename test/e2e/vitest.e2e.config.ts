import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import { graphqlAlias } from '../graphql-alias';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export default defineProject({
  root: repoRoot,
  // The server runs in-process here too.
  resolve: graphqlAlias,
  test: {
    name: 'e2e',
    // Under the root config's `projects` the scan would start in test/e2e/ otherwise.
    dir: repoRoot,
    environment: 'node',
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: [fileURLToPath(new URL('./global-setup.ts', import.meta.url))],
    // One browser and one server at a time: 2 cores do not take more without flaking.
    fileParallelism: false,
    // After the API and unit suites, not beside them, for the same reason.
    sequence: { groupOrder: 1 },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
