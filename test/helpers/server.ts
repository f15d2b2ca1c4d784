import type { AddressInfo } from 'node:net';
import { createApp, type App } from '../../api/app';
import type { Clock } from '../../api/clock';
import { loadConfig } from '../../api/config';
import type { Logger } from '../../api/log';
import { createHttpServer, type HttpServer } from '../../api/server';
import { createTestDatabase, type TestDatabase } from './database';

export const TOKENS = {
  admin: 'test-admin-token-0123456789abcdef',
  viewer: 'test-viewer-token-0123456789abcdef',
  enrollment: 'test-enroll-token-0123456789abcdef',
};

export interface TestServer {
  url: string;
  adminToken: string;
  viewerToken: string;
  enrollmentToken: string;
  app: App;
  http: HttpServer;
  databaseUrl?: string;
  close(): Promise<void>;
}

/**
 * Starts the real server in-process on a free port, on a fresh database (PGlite in
 * memory, or a new PostgreSQL database when TEST_DB=postgres). `databaseUrl` joins an
 * existing database instead, as a second replica would.
 */
export async function startTestServer(opts: { env?: Record<string, string>; clock?: Clock; databaseUrl?: string; log?: Logger } = {}): Promise<TestServer> {
  const database: TestDatabase = opts.databaseUrl
    ? { url: opts.databaseUrl, drop: async () => {} }
    : await createTestDatabase();
  const config = loadConfig({
    DATA_DIR: 'memory://',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ADMIN_TOKEN: TOKENS.admin,
    VIEWER_TOKEN: TOKENS.viewer,
    ENROLLMENT_TOKEN: TOKENS.enrollment,
    // A test machine running many suites at once can stall a server for seconds; its
    // sweeper would rightly take that for an outage and grant agents a grace period,
    // which would move the deadlines the tests watch. Tests of the grace set their own.
    OUTAGE_GAP_MS: '60000',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...opts.env,
  });
  const app = await createApp(config, { clock: opts.clock, log: opts.log });
  const http = createHttpServer(app);
  await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
  const { port } = http.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    adminToken: config.adminToken!,
    viewerToken: config.viewerToken!,
    enrollmentToken: config.enrollmentToken!,
    app,
    http,
    databaseUrl: database.url,
    async close() {
      await http.close();
      await app.close();
      await database.drop();
    },
  };
}
