import './production';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import { createApp, type App } from './app';
import { tokenFile } from './auth/bootstrap';
import { hashToken } from './auth/tokens';
import { seedDemoAgents } from './agents/seed';
import { ConfigError, loadConfig } from './config';
import { createHttpServer } from './server';

/**
 * What an operator needs on a first start: the generated tokens (shown once on
 * PostgreSQL), a sign-in link and a line that registers an agent. Plain text rather than
 * a log line, and only tokens this server generated or keeps in its data directory:
 * tokens given in the environment are the operator's own and are never printed.
 */
function banner(app: App, baseUrl: string): string | undefined {
  const { known, generated } = app.credentials;
  // A generated token whose key was since revoked (or rotated) is not shown again.
  const inForce = (token: string | undefined) => token !== undefined && app.keys.find(hashToken(token))?.revokedAt === null;
  const shown = (
    app.database.kind === 'postgres' ? generated : (['admin', 'viewer', 'enrollment'] as const).filter((k) => known[k] && !app.config[`${k}Token`])
  ).filter((k) => inForce(known[k]));
  if (shown.length === 0) return undefined;
  const lines = [''];
  if (generated.length > 0) {
    lines.push(`Generated ${generated.join(', ')} token(s) on this first start.`);
    if (app.database.kind === 'postgres') lines.push('Only their hashes are stored: copy them now, they will not be shown again.');
    else if (!app.config.dataDir.startsWith('memory://')) lines.push(`They are kept in ${tokenFile(app.config.dataDir)} (mode 0600).`);
  }
  for (const kind of shown) lines.push(`  ${kind.padEnd(10)} ${known[kind]}`);
  if (shown.includes('admin')) lines.push('', `Dashboard:  ${baseUrl}/dashboard#token=${known.admin}`);
  const enroll = shown.includes('enrollment') ? known.enrollment : '<ENROLLMENT_TOKEN>';
  lines.push(
    '',
    'Register an agent:',
    `  curl -X POST ${baseUrl}/api/v1/agents/register -H 'Authorization: Bearer ${enroll}' -H 'Content-Type: application/json' \\`,
    `    -d '{"name":"Web Server Alpha","type":"api_agent","host":"web-01.company.com","port":8080,"environment":"production","metadata":{"region":"us-east-1"}}'`,
    `GraphiQL:   ${baseUrl}/graphql`,
    '',
  );
  return lines.join('\n');
}

/**
 * V8 allocates an allocation site's objects straight in the old generation once most of
 * them survive a young collection. A heartbeat's objects live across its batch, so most
 * do survive one, and die soon after: allocated old, they filled the old generation and
 * cost a full collection about every second under the benchmark's load, and a quarter
 * more CPU per heartbeat (seen with --trace-gc and --trace-pretenuring). Left young,
 * they are copied once and freed.
 */
v8.setFlagsFromString('--no-allocation-site-pretenuring');

async function main() {
  const args = new Set(process.argv.slice(2));
  const config = loadConfig();
  const app = await createApp(config);
  if (args.has('--seed-only') || args.has('--demo')) {
    const n = await seedDemoAgents(app.services.agents, app.database.db);
    app.log.info(n === 0 ? 'the demo agents are registered already' : `seeded ${n} demo agents`);
    if (args.has('--seed-only')) return app.close();
  }
  const http = createHttpServer(app);
  await new Promise<void>((resolve) => http.server.listen(config.port, config.host, resolve));
  const { port } = http.server.address() as AddressInfo;
  const baseUrl = config.publicUrl ?? `http://localhost:${port}`;
  app.log.announce(`Agent Monitor listening on ${baseUrl}`, { url: baseUrl, database: app.database.kind });
  const text = banner(app, baseUrl);
  if (text) process.stdout.write(text + '\n');

  let stopping = false;
  /**
   * Drain, then stop the background work (app.close(): sweeper, heartbeat batches, feeds,
   * the bus, the database), within SHUTDOWN_TIMEOUT_MS; past it, whatever is left is cut
   * and the process exits with 1.
   */
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info('shutting down: draining', { signal, timeoutMs: config.shutdownTimeoutMs });
    const deadline = setTimeout(() => {
      app.log.error('shutdown did not finish in time; exiting', { timeoutMs: config.shutdownTimeoutMs });
      app.log.flush();
      http.destroy();
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    try {
      await http.drain(config.shutdownDelayMs);
      await app.close();
      app.log.info('shut down');
      app.log.flush();
      process.exit(0);
    } catch (err) {
      app.log.error('shutdown failed', err);
      app.log.flush();
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
});
