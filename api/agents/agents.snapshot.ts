import type { AgentConfigurationRow, AgentRow } from './agents.table';

export type { AgentConfigurationRow };

/** Columns of an agent that are nobody's business but the server's. */
type PrivateColumn = 'tokenHash' | 'statusBeforeHeartbeat' | 'graceUntil' | 'nameKey';

/** An agent's row as it may be shown. */
export type AgentColumns = Omit<AgentRow, PrivateColumn>;

/** Everything about an agent that may be shown: its public columns, plus tags. */
export type PublicAgent = AgentColumns & { tags: string[] };

/** The columns that hold an agent's recent heartbeats (Agent.recentHeartbeats). */
export type HeartbeatHistory = Pick<AgentRow, 'recentHeartbeatAt' | 'recentHealth'>;

/** The public columns as a relational-query selection. */
export const PUBLIC_COLUMNS = {
  id: true,
  name: true,
  type: true,
  host: true,
  port: true,
  environment: true,
  status: true,
  statusChangedAt: true,
  health: true,
  healthMessage: true,
  metadata: true,
  heartbeatIntervalSeconds: true,
  lastHeartbeat: true,
  lastSequence: true,
  offlineAt: true,
  recentHeartbeatAt: true,
  recentHealth: true,
  configurationRevision: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Record<keyof AgentColumns, true>;

export function publicAgent(row: AgentRow, tags: string[]): PublicAgent {
  const { tokenHash: _secret, statusBeforeHeartbeat: _bookkeeping, graceUntil: _grace, nameKey: _key, ...rest } = row;
  return { ...rest, tags };
}

/**
 * The agent as an event stores it, in JSON: every public field but the heartbeat
 * history, which would put up to 30 timestamps into every event (and an event is about
 * its change, not about the heartbeats before it).
 */
export interface AgentSnapshot {
  id: string;
  name: string;
  type: string;
  host: string;
  port: number;
  environment: string;
  status: AgentRow['status'];
  /** Absent from events written before it existed. */
  statusChangedAt?: string;
  health: AgentRow['health'];
  healthMessage: string | null;
  metadata: Record<string, unknown>;
  heartbeatIntervalSeconds: number;
  lastHeartbeat: string | null;
  lastSequence: number | null;
  offlineAt: string | null;
  configurationRevision: number;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

const date = (s: string | null) => (s === null ? null : new Date(s));

/**
 * The column behind each field of a snapshot. Events about agents are built in the
 * database from the agent's row (agents.store.ts), so that a thousand transitions cost
 * one statement; this map is the one place that says which column becomes which field.
 */
export const SNAPSHOT_COLUMNS = {
  id: 'id',
  name: 'name',
  type: 'type',
  host: 'host',
  port: 'port',
  environment: 'environment',
  status: 'status',
  statusChangedAt: 'status_changed_at',
  health: 'health',
  healthMessage: 'health_message',
  metadata: 'metadata',
  heartbeatIntervalSeconds: 'heartbeat_interval_seconds',
  lastHeartbeat: 'last_heartbeat',
  lastSequence: 'last_sequence',
  offlineAt: 'offline_at',
  configurationRevision: 'configuration_revision',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
} as const satisfies Record<Exclude<keyof AgentSnapshot, 'tags'>, string>;

/**
 * The agent of a snapshot, shaped like a row, with an empty heartbeat history. Built
 * field by field: spreading the snapshot and then replacing five of its texts with dates
 * cost V8 about four times as much (10–13 µs an event, the largest single cost of
 * decoding a burst of events).
 */
export function fromSnapshot(s: AgentSnapshot): PublicAgent {
  return {
    id: s.id,
    name: s.name,
    type: s.type,
    host: s.host,
    port: s.port,
    environment: s.environment,
    status: s.status,
    // An event from before statusChangedAt existed: its agent changed last at updatedAt,
    // the closest time it carries.
    statusChangedAt: new Date(s.statusChangedAt ?? s.updatedAt),
    health: s.health,
    healthMessage: s.healthMessage,
    metadata: s.metadata,
    heartbeatIntervalSeconds: s.heartbeatIntervalSeconds,
    lastHeartbeat: date(s.lastHeartbeat),
    lastSequence: s.lastSequence,
    offlineAt: date(s.offlineAt),
    configurationRevision: s.configurationRevision,
    tags: s.tags,
    createdAt: new Date(s.createdAt),
    updatedAt: new Date(s.updatedAt),
    recentHeartbeatAt: [],
    recentHealth: [],
  };
}

// Drivers differ on whether array elements arrive parsed.
const instant = (t: Date | string) => (t instanceof Date ? t : new Date(t));

/** The history as pairs, newest first. */
export function recentHeartbeats(agent: HeartbeatHistory): { at: Date; health: AgentRow['health'] }[] {
  const { recentHeartbeatAt: at, recentHealth: health } = agent;
  return at.map((t, i) => ({ at: instant(t), health: health[i] ?? 'healthy' }));
}
