import path from 'node:path';
import { agentIdOfToken } from './auth/tokens';

/** Every setting the server reads, parsed and checked once at start. */
export interface Config {
  port: number;
  host: string;
  /** PostgreSQL URL; when unset the embedded PGlite database is used. */
  databaseUrl?: string;
  /** Where PGlite keeps its files; `memory://` keeps nothing on disk. */
  dataDir: string;
  dbPoolSize: number;
  adminToken?: string;
  viewerToken?: string;
  enrollmentToken?: string;
  /** Heartbeat intervals an agent may miss before it is marked offline. */
  missedHeartbeats: number;
  defaultHeartbeatIntervalSeconds: number;
  /** How often the offline sweeper looks for agents past their deadline. */
  sweepIntervalMs: number;
  /** Longest a heartbeat waits to be written with others in one statement. */
  heartbeatFlushMs: number;
  heartbeatBatchSize: number;
  /** Heartbeats per second a replica accepts before answering 429 (0 = unlimited). */
  heartbeatRateLimit: number;
  /** How often the agentHeartbeats feed reads the subscribed agents (only while someone subscribes). */
  heartbeatFeedMs: number;
  /** How often WebSocket subscribers are pinged; one that misses a pong is dropped. */
  wsKeepAliveMs: number;
  publicUrl?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function token(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 16) throw new ConfigError(`${name} must be at least 16 characters long`);
  if (agentIdOfToken(raw)) throw new ConfigError(`${name} must not have the form of an agent token (am_agent_…)`);
  return raw;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// or postgresql://');
  }
  const logLevel = (env.LOG_LEVEL || 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const dataDir = env.DATA_DIR || './data';
  return {
    port: integer(env, 'PORT', 8000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    dataDir: dataDir.startsWith('memory://') ? dataDir : path.resolve(dataDir),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 10, 1, 1000),
    adminToken: token(env, 'ADMIN_TOKEN'),
    viewerToken: token(env, 'VIEWER_TOKEN'),
    enrollmentToken: token(env, 'ENROLLMENT_TOKEN'),
    missedHeartbeats: integer(env, 'MISSED_HEARTBEATS', 3, 1, 100),
    defaultHeartbeatIntervalSeconds: integer(env, 'HEARTBEAT_INTERVAL_SECONDS', 30, 1, 3600),
    sweepIntervalMs: integer(env, 'SWEEP_INTERVAL_MS', 250, 10, 60_000),
    heartbeatFlushMs: integer(env, 'HEARTBEAT_FLUSH_MS', 5, 0, 1000),
    heartbeatBatchSize: integer(env, 'HEARTBEAT_BATCH_SIZE', 1000, 1, 50_000),
    heartbeatRateLimit: integer(env, 'HEARTBEAT_RATE_LIMIT', 0, 0, 10_000_000),
    heartbeatFeedMs: integer(env, 'HEARTBEAT_FEED_MS', 1000, 10, 60_000),
    wsKeepAliveMs: integer(env, 'WS_KEEPALIVE_MS', 12_000, 100, 600_000),
    publicUrl: env.PUBLIC_URL || undefined,
    logLevel,
  };
}
