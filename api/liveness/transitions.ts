import { appendAgentEvents } from '../agents/agents.events';
import type { AgentStatus } from '../agents/agents.types';
import type { Db } from '../db';
import type { EventLog } from '../events/events.log';

export interface Transition {
  id: string;
  previousStatus: AgentStatus;
  status: AgentStatus;
  reason: string;
}

/** Records status transitions as events, in the transaction that made them. */
export async function recordTransitions(tx: Db, events: EventLog, transitions: Transition[]): Promise<number> {
  await appendAgentEvents(
    events,
    tx,
    transitions.map((t) => ({ agentId: t.id, type: 'status_changed', previousStatus: t.previousStatus, status: t.status, reason: t.reason })),
  );
  return transitions.length;
}
