import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { graphqlEnvPlugin } from './build/graphql-env.ts';
import { precompressPlugin } from './build/precompress.ts';

const apiTarget = process.env.API_URL ?? 'http://localhost:8000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/dashboard/',
  plugins: [graphqlEnvPlugin(), svelte({ configFile: false }), precompressPlugin()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Stays under the 150 KB budget with room; a warning here means something leaked in.
    chunkSizeWarningLimit: 200,
  },
  server: {
    port: Number(process.env.DASHBOARD_PORT ?? 5173),
    strictPort: false,
    proxy: {
      '/graphql': { target: apiTarget, ws: true, changeOrigin: true },
      '/api': { target: apiTarget, changeOrigin: true },
      '/health': { target: apiTarget, changeOrigin: true },
    },
  },
});
