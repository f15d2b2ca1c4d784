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
  /** Longest wait for a new PostgreSQL connection. */
  dbConnectTimeoutMs: number;
  /** Longest a PostgreSQL statement may run. */
  dbStatementTimeoutMs: number;
  adminToken?: string;
  viewerToken?: string;
  enrollmentToken?: string;
  /** A token that may read /metrics and nothing else (admin and viewer tokens may too). */
  metricsToken?: string;
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
  /**
   * A gap this long with no offline sweep on any replica means the server or its database
   * was away; agents then get a grace period before they can go offline.
   */
  outageGapMs: number;
  /** An agent offline this long is inactive: hidden from the fleet's default view, counted apart. */
  inactiveAfterSeconds: number;
  /** How long a replica's lease on a durable event consumer lasts unless renewed. */
  consumerLeaseMs: number;
  /** How often WebSocket subscribers are pinged; one that misses a pong is dropped. */
  wsKeepAliveMs: number;
  /** How long a new WebSocket may take to send connection_init. */
  wsInitTimeoutMs: number;
  wsMaxSubscriptionsPerSocket: number;
  /** Sockets from one address that have not yet been accepted (sent a valid connection_init). */
  wsMaxUnauthenticatedPerAddress: number;
  /** WebSockets this replica holds at once. */
  wsMaxSockets: number;
  /** GraphQL limits: tokens in a document, depth, aliases, directives, and cost (see api/graphql/limits.ts and cost.ts). */
  graphqlMaxTokens: number;
  graphqlMaxDepth: number;
  graphqlMaxAliases: number;
  graphqlMaxDirectives: number;
  graphqlMaxCost: number;
  /** How long a verified (or refused) agent token is remembered: revocation takes effect everywhere within this. */
  agentTokenCacheMs: number;
  /** How often each replica reads the API keys again: a revoked key stops working everywhere within this. */
  apiKeyRefreshMs: number;
  /** Longest a client may take to send a request's head, and its whole request (head and body): a slow or stalled sender is answered 408 and loses its socket. */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  /** Longest a shutdown may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** After a signal, how long the server keeps accepting (with /ready at 503) before it stops. */
  shutdownDelayMs: number;
  metrics: MetricsConfig;
  alerts: AlertsConfig;
  publicUrl?: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** JSON lines, or `pretty` for a terminal. */
  logFormat: 'json' | 'pretty';
}

export interface MetricsConfig {
  /** Days each resolution is kept: raw samples, 1-minute and 1-hour roll-ups. */
  rawRetentionDays: number;
  minuteRetentionDays: number;
  hourRetentionDays: number;
  /** Series (name and labels) one agent may have; points of further series are refused. */
  maxSeriesPerAgent: number;
  /** Largest compressed request body on the metric doors, and largest body once decompressed. */
  maxBodyBytes: number;
  maxDecodedBytes: number;
  /** How often the agentMetrics feed reads new samples (only while someone subscribes). */
  feedMs: number;
  /** How often each replica tries to advance the roll-ups, and to create and drop partitions. */
  rollupIntervalMs: number;
  maintenanceIntervalMs: number;
  /** Samples queued for writing per replica before the doors answer 429/503. */
  maxQueuedSamples: number;
  /** Series ids each replica keeps in memory for ingest (about 100 bytes each); past it the cache starts afresh. */
  seriesCacheSize: number;
  /** An hour of raw samples is compacted into blocks this long after it ends; rows moved per transaction. */
  compactAfterMs: number;
  compactSliceRows: number;
}

export interface AlertsConfig {
  /** How often metric rules are evaluated (each evaluation once across replicas). */
  evalIntervalMs: number;
  /** How often time-driven transitions are looked for: waits (`for`, keep_firing_for), silences, reminders. */
  tickMs: number;
  /** An open alert is flagged flapping when its agent changed status this often within this window (0 changes: never). */
  flap: { changes: number; windowSeconds: number };
  webhooks: {
    pollMs: number;
    timeoutMs: number;
    retryScheduleMs: number[];
    maxAlertsPerMessage: number;
    /** CIDR ranges webhooks may reach though refused by default, and ranges to refuse as well. */
    allow: string[];
    deny: string[];
  };
}

export class ConfigError extends Error {}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "5s,5m,30m,2h" → milliseconds. */
function durations(env: Env, name: string, fallback: string): number[] {
  const raw = env[name] || fallback;
  return raw.split(',').map((part) => {
    const m = /^\s*(\d+)\s*(ms|s|m|h)\s*$/.exec(part);
    const ms = m ? Number(m[1]) * UNITS[m[2]] : NaN;
    if (!(ms >= 0 && ms <= 7 * 86_400_000)) throw new ConfigError(`${name} must be a comma-separated list of durations like 5s,5m,30m,2h (each at most 7 days), got "${raw}"`);
    return ms;
  });
}

function cidrs(env: Env, name: string): string[] {
  const list = (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const c of list) if (!/^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(c)) throw new ConfigError(`${name} must be a comma-separated list of CIDR ranges, got "${c}"`);
  return list;
}

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
  const logFormat = (env.LOG_FORMAT || 'json') as Config['logFormat'];
  if (logFormat !== 'json' && logFormat !== 'pretty') throw new ConfigError('LOG_FORMAT must be json or pretty');
  const dataDir = env.DATA_DIR || './data';
  const sweepIntervalMs = integer(env, 'SWEEP_INTERVAL_MS', 250, 10, 60_000);
  const httpHeadersTimeoutMs = integer(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 300_000);
  const httpRequestTimeoutMs = integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 60_000, 100, 3_600_000);
  if (httpRequestTimeoutMs < httpHeadersTimeoutMs) throw new ConfigError(`HTTP_REQUEST_TIMEOUT_MS must be at least HTTP_HEADERS_TIMEOUT_MS (${httpHeadersTimeoutMs})`);
  const outageGapMs = integer(env, 'OUTAGE_GAP_MS', Math.max(5_000, 20 * sweepIntervalMs), 1_000, 3_600_000);
  if (outageGapMs < 4 * sweepIntervalMs) throw new ConfigError(`OUTAGE_GAP_MS must be at least 4 × SWEEP_INTERVAL_MS (${4 * sweepIntervalMs})`);
  const metrics: MetricsConfig = {
    rawRetentionDays: integer(env, 'METRICS_RAW_RETENTION_DAYS', 7, 1, 3650),
    minuteRetentionDays: integer(env, 'METRICS_1M_RETENTION_DAYS', 30, 1, 3650),
    hourRetentionDays: integer(env, 'METRICS_1H_RETENTION_DAYS', 400, 1, 36500),
    maxSeriesPerAgent: integer(env, 'METRICS_MAX_SERIES_PER_AGENT', 1000, 1, 1_000_000),
    maxBodyBytes: integer(env, 'METRICS_MAX_BODY_BYTES', 4 * 1024 * 1024, 1024, 256 * 1024 * 1024),
    maxDecodedBytes: integer(env, 'METRICS_MAX_DECODED_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    feedMs: integer(env, 'METRICS_FEED_MS', 1000, 10, 60_000),
    rollupIntervalMs: integer(env, 'METRICS_ROLLUP_INTERVAL_MS', 10_000, 10, 3_600_000),
    maintenanceIntervalMs: integer(env, 'METRICS_MAINTENANCE_INTERVAL_MS', 3_600_000, 10, 86_400_000),
    maxQueuedSamples: integer(env, 'METRICS_MAX_QUEUED_SAMPLES', 500_000, 1000, 100_000_000),
    seriesCacheSize: integer(env, 'METRICS_SERIES_CACHE', 2_000_000, 1000, 100_000_000),
    compactAfterMs: integer(env, 'METRICS_COMPACT_AFTER_SECONDS', 7200, 600, 7 * 86_400) * 1000,
    // Embedded PGlite runs each statement on the event loop: smaller slices there.
    compactSliceRows: integer(env, 'METRICS_COMPACT_SLICE_ROWS', databaseUrl ? 20_000 : 2_000, 100, 1_000_000),
  };
  // Roll-ups are made from the finer data, so that must still be there when they are.
  if (metrics.minuteRetentionDays < metrics.rawRetentionDays) throw new ConfigError('METRICS_1M_RETENTION_DAYS must be at least METRICS_RAW_RETENTION_DAYS');
  if (metrics.hourRetentionDays < metrics.minuteRetentionDays) throw new ConfigError('METRICS_1H_RETENTION_DAYS must be at least METRICS_1M_RETENTION_DAYS');
  const alerts: AlertsConfig = {
    evalIntervalMs: integer(env, 'ALERT_EVAL_INTERVAL_MS', 15_000, 100, 3_600_000),
    tickMs: integer(env, 'ALERT_TICK_MS', 1_000, 50, 60_000),
    flap: { changes: integer(env, 'ALERT_FLAP_CHANGES', 4, 0, 1000), windowSeconds: integer(env, 'ALERT_FLAP_WINDOW_SECONDS', 600, 1, 86_400) },
    webhooks: {
      pollMs: integer(env, 'WEBHOOK_POLL_MS', 250, 10, 60_000),
      timeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 15_000),
      retryScheduleMs: durations(env, 'WEBHOOK_RETRY_SCHEDULE', '5s,5m,30m,2h,5h,10h'),
      maxAlertsPerMessage: integer(env, 'WEBHOOK_MAX_ALERTS_PER_MESSAGE', 1000, 1, 10_000),
      allow: cidrs(env, 'WEBHOOK_ALLOW'),
      deny: cidrs(env, 'WEBHOOK_DENY'),
    },
  };
  return {
    metrics,
    alerts,
    port: integer(env, 'PORT', 8000, 0, 65535),
    host: env.HOST || '0.0.0.0',
    databaseUrl,
    dataDir: dataDir.startsWith('memory://') ? dataDir : path.resolve(dataDir),
    dbPoolSize: integer(env, 'DB_POOL_SIZE', 10, 1, 1000),
    dbConnectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    dbStatementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 15_000, 100, 3_600_000),
    adminToken: token(env, 'ADMIN_TOKEN'),
    viewerToken: token(env, 'VIEWER_TOKEN'),
    enrollmentToken: token(env, 'ENROLLMENT_TOKEN'),
    metricsToken: token(env, 'METRICS_TOKEN'),
    missedHeartbeats: integer(env, 'MISSED_HEARTBEATS', 3, 1, 100),
    defaultHeartbeatIntervalSeconds: integer(env, 'HEARTBEAT_INTERVAL_SECONDS', 30, 1, 3600),
    sweepIntervalMs,
    outageGapMs,
    inactiveAfterSeconds: integer(env, 'INACTIVE_AFTER_SECONDS', 86_400, 60, 10 * 365 * 86_400),
    consumerLeaseMs: integer(env, 'CONSUMER_LEASE_MS', 5_000, 200, 600_000),
    heartbeatFlushMs: integer(env, 'HEARTBEAT_FLUSH_MS', 5, 0, 1000),
    heartbeatBatchSize: integer(env, 'HEARTBEAT_BATCH_SIZE', 1000, 1, 50_000),
    heartbeatRateLimit: integer(env, 'HEARTBEAT_RATE_LIMIT', 0, 0, 10_000_000),
    heartbeatFeedMs: integer(env, 'HEARTBEAT_FEED_MS', 1000, 10, 60_000),
    wsKeepAliveMs: integer(env, 'WS_KEEPALIVE_MS', 12_000, 100, 600_000),
    wsInitTimeoutMs: integer(env, 'WS_INIT_TIMEOUT_MS', 3_000, 100, 60_000),
    wsMaxSubscriptionsPerSocket: integer(env, 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET', 100, 1, 100_000),
    wsMaxUnauthenticatedPerAddress: integer(env, 'WS_MAX_UNAUTHENTICATED_PER_ADDRESS', 10, 1, 100_000),
    wsMaxSockets: integer(env, 'WS_MAX_SOCKETS', 10_000, 1, 1_000_000),
    graphqlMaxTokens: integer(env, 'GRAPHQL_MAX_TOKENS', 1000, 50, 100_000),
    graphqlMaxDepth: integer(env, 'GRAPHQL_MAX_DEPTH', 10, 2, 100),
    graphqlMaxAliases: integer(env, 'GRAPHQL_MAX_ALIASES', 15, 0, 1000),
    graphqlMaxDirectives: integer(env, 'GRAPHQL_MAX_DIRECTIVES', 10, 0, 1000),
    graphqlMaxCost: integer(env, 'GRAPHQL_MAX_COST', 50_000, 100, 100_000_000),
    agentTokenCacheMs: integer(env, 'AGENT_TOKEN_CACHE_MS', 5_000, 0, 60_000),
    apiKeyRefreshMs: integer(env, 'API_KEY_REFRESH_MS', 2_000, 100, 60_000),
    httpHeadersTimeoutMs,
    httpRequestTimeoutMs,
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    shutdownDelayMs: integer(env, 'SHUTDOWN_DELAY_MS', 0, 0, 600_000),
    publicUrl: env.PUBLIC_URL || undefined,
    logLevel,
    logFormat,
  };
}
