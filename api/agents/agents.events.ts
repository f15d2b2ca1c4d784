import type { Db } from '../db';
import type { EventLog } from '../events/events.log';
import type { EventRecord } from '../events/events.types';
import type { Position } from '../events/position';
import { fromSnapshot, type AgentSnapshot, type PublicAgent } from './agents.snapshot';
import { agentStore, type AgentChangeRow } from './agents.store';
import { AGENT_EVENT_TYPES, AGENT_KIND, type AgentEventType, type AgentStatus } from './agents.types';


/** What an agent event carries in the log (built by agentPayloadSql in agents.events.sql.ts). */
interface AgentEventPayload {
  agent: AgentSnapshot;
  previousStatus: AgentStatus | null;
  status: AgentStatus | null;
  reason: string | null;
  data: Record<string, unknown>;
}

/**
 * Appends events about agents changed in `tx` (each locked, or created, in it), each
 * carrying the agent as its row now stands.
 */
export function appendAgentEvents(events: EventLog, tx: Db, changes: AgentChangeRow[], opts: { slice?: number; between?: () => Promise<void> } = {}): Promise<void> {
  if (changes.length === 0) return Promise.resolve();
  const subjects = changes.map((c) => ({ kind: AGENT_KIND, subjectId: c.agentId }));
  const slice = opts.slice ?? changes.length;
  if (changes.length <= slice) return events.appendWith(tx, subjects, (at) => agentStore.insertEvents(tx, at, changes));
  // Many at once (bulk actions): a statement per slice, all stamped with the same time,
  // with `between` (a turn of the event loop) from one to the next.
  return events.appendWith(tx, subjects, async (at) => {
    for (let i = 0; i < changes.length; i += slice) {
      if (i > 0) await opts.between?.();
      await agentStore.insertEvents(tx, at, changes.slice(i, i + slice));
    }
  });
}

/** An agent event as subscribers and the log query see it. */
export interface AgentEvent {
  cursor: string;
  position: Position;
  type: AgentEventType;
  agentId: string;
  /** The agent as it was right after the event; it resolves without a query, and outlives the agent. */
  agent: PublicAgent;
  previousStatus: AgentStatus | null;
  status: AgentStatus | null;
  reason: string | null;
  data: Record<string, unknown>;
  at: Date;
}

const isType = (t: string): t is AgentEventType => (AGENT_EVENT_TYPES as readonly string[]).includes(t);

function isPayload(p: unknown): p is AgentEventPayload {
  if (typeof p !== 'object' || p === null) return false;
  const { agent, data } = p as Record<string, unknown>;
  return typeof agent === 'object' && agent !== null && typeof data === 'object' && data !== null;
}

/**
 * Decoded once per record, so that every subscriber is handed the same object for one
 * event (shared subscription execution keys its results by that object).
 */
const decoded = new WeakMap<EventRecord, AgentEvent | null>();

/** The agent event a record holds, or null for a record of another kind (or one this version cannot read). */
export function toAgentEvent(record: EventRecord): AgentEvent | null {
  let event = decoded.get(record);
  if (event !== undefined) return event;
  const { payload } = record;
  event =
    record.kind === AGENT_KIND && isType(record.type) && isPayload(payload)
      ? {
          cursor: record.cursor,
          position: record.position,
          type: record.type,
          agentId: record.subjectId,
          agent: fromSnapshot(payload.agent),
          previousStatus: payload.previousStatus,
          status: payload.status,
          reason: payload.reason,
          data: payload.data,
          at: record.at,
        }
      : null;
  decoded.set(record, event);
  return event;
}
