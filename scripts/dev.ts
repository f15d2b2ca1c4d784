/**
 * `npm run dev`: the API under `tsx watch` (restarts on server changes) and the Vite dev
 * server with hot reload for the dashboard, which proxies /graphql (WebSocket included),
 * /api and /health to the API. Ctrl-C stops both.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const apiPort = process.env.PORT ?? '8000';
const apiUrl = `http://localhost:${apiPort}`;
process.env.API_URL = apiUrl;

let vite: ViteDevServer | undefined;
let dashboardUrl = '';

const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const api: ChildProcess = spawn(tsx, ['watch', 'api/main.ts'], {
  cwd: root,
  env: { NODE_ENV: 'development', ...process.env, PORT: apiPort },
  stdio: ['ignore', 'pipe', 'inherit'],
});

// The API prints a sign-in link for the built dashboard on :8000; during development the
// hot-reloading copy is the one to open, so the link is repeated for it.
createInterface({ input: api.stdout! }).on('line', (line) => {
  console.log(`[api] ${line}`);
  const token = /#token=(\S+)/.exec(line)?.[1];
  if (token && dashboardUrl) console.log(`[dev] Hot-reloading dashboard: ${dashboardUrl}#token=${token}`);
});

api.on('exit', (code, signal) => {
  if (!stopping) console.error(`[dev] API exited (${signal ?? code}); Vite keeps running, fix and save to restart.`);
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  api.kill('SIGTERM');
  await vite?.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

vite = await createServer({ configFile: fileURLToPath(new URL('../dashboard/vite.config.ts', import.meta.url)) });
await vite.listen();
dashboardUrl = `${vite.resolvedUrls?.local[0] ?? 'http://localhost:5173/dashboard/'}`;
console.log(`[dev] Dashboard (hot reload): ${dashboardUrl}  ->  API ${apiUrl}`);
