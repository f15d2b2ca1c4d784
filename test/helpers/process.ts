import { spawnReplica, type Replica } from './replica';

export interface ServerProcess extends Replica {
  /** Its JSON log lines so far. */
  logLines(): Record<string, any>[];
}

/**
 * A real server process on `databaseUrl` (PostgreSQL) or an in-memory PGlite, with its
 * JSON log lines at hand.
 */
export async function spawnServer(opts: { databaseUrl?: string; env?: Record<string, string> } = {}): Promise<ServerProcess> {
  const replica = await spawnReplica({ DATA_DIR: 'memory://', ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}), ...opts.env });
  const logLines = () =>
    replica
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l)];
        } catch {
          return [];
        }
      });
  return { ...replica, logLines };
}
