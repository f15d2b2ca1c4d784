import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import { createApp, type App } from './app';
import { tokenFile } from './auth/bootstrap';
import { seedDemoAgents } from './agents/seed';
import { ConfigError, loadConfig } from './config';
import { createHttpServer } from './server';

function banner(app: App, baseUrl: string): string {
  const { known, generated } = app.credentials;
  const lines = [`Agent Monitor listening on ${baseUrl} (database: ${app.database.kind})`];
  if (generated.length > 0) {
    lines.push('', `Generated ${generated.join(', ')} token(s) on this first start.`);
    if (app.database.kind === 'postgres') lines.push('Only their hashes are stored: copy them now, they will not be shown again.');
    else if (!app.config.dataDir.startsWith('memory://')) lines.push(`They are kept in ${tokenFile(app.config.dataDir)} (mode 0600).`);
  }
  for (const kind of ['admin', 'viewer', 'enrollment'] as const) if (known[kind]) lines.push(`  ${kind.padEnd(10)} ${known[kind]}`);
  if (known.admin) lines.push('', `Dashboard:  ${baseUrl}/dashboard#token=${known.admin}`);
  const enroll = known.enrollment ?? '<ENROLLMENT_TOKEN>';
  lines.push(
    '',
    'Register an agent:',
    `  curl -X POST ${baseUrl}/api/v1/agents/register -H 'Authorization: Bearer ${enroll}' -H 'Content-Type: application/json' \\`,
    `    -d '{"name":"Web Server Alpha","type":"api_agent","host":"web-01.company.com","port":8080,"environment":"production","metadata":{"region":"us-east-1"}}'`,
    `GraphiQL:   ${baseUrl}/graphql`,
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
    const n = await seedDemoAgents(app.services.agents);
    console.log(`Seeded ${n} demo agents.`);
    if (args.has('--seed-only')) return app.close();
  }
  const http = createHttpServer(app);
  await new Promise<void>((resolve) => http.server.listen(config.port, config.host, resolve));
  const { port } = http.server.address() as AddressInfo;
  console.log(banner(app, config.publicUrl ?? `http://localhost:${port}`));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    await http.close();
    await app.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
});
