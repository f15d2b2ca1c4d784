import type { FleetEvent } from '../../dashboard/src/lib/fleet-reducer';
import type { AgentStatus, FleetAgent } from '../../dashboard/src/lib/types';

let seq = 0;

/** A plausible agent; ids sort in creation order so tie-breaks are predictable. */
export function agent(overrides: Partial<FleetAgent> = {}): FleetAgent {
  seq++;
  return {
    id: `a-${String(seq).padStart(4, '0')}`,
    name: `agent-${seq}`,
    type: 'web-server',
    host: `10.0.0.${seq}`,
    port: 8080,
    environment: 'production',
    status: 'ONLINE',
    tags: [],
    lastHeartbeat: '2025-01-01T00:00:00.000Z',
    offlineAt: '2025-01-01T00:01:30.000Z',
    createdAt: `2025-01-01T00:00:${String(seq % 60).padStart(2, '0')}.000Z`,
    // One moment for all, so the default (worst-first) order falls through to the name.
    statusChangedAt: '2025-01-01T00:00:00.000Z',
    ...overrides,
  };
}

let cursor = 0;

export function event(
  type: FleetEvent['type'],
  snapshot: FleetAgent | null,
  extra: { agentId?: string; previousStatus?: AgentStatus; status?: AgentStatus } = {},
): FleetEvent {
  cursor++;
  return {
    cursor: String(cursor),
    type,
    agentId: extra.agentId ?? snapshot?.id ?? 'missing',
    previousStatus: extra.previousStatus ?? null,
    status: extra.status ?? null,
    agent: snapshot,
  };
}

export function statusChange(a: FleetAgent, to: AgentStatus): FleetEvent {
  return event('STATUS_CHANGED', { ...a, status: to }, { previousStatus: a.status, status: to });
}
