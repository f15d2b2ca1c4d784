import { fileURLToPath } from 'node:url';
import { defineProject } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineProject({
  root: repoRoot,
  plugins: [svelte({ configFile: false }), svelteTesting()],
  test: {
    name: 'dashboard',
    // Under the root config's `projects` the scan would start in dashboard/ otherwise.
    dir: repoRoot,
    environment: 'jsdom',
    include: ['test/dashboard/**/*.test.ts'],
    setupFiles: [fileURLToPath(new URL('../test/dashboard/setup.ts', import.meta.url))],
  },
});
