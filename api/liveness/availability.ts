import { toAgentEvent } from '../agents/agents.events';
import { AGENT_KIND, type AgentStatus } from '../agents/agents.types';
import type { ConsumerDefinition } from '../events/consumers';
import { availabilityStore, type StatusDelta } from './availability.store';

const MINUTE = 60_000;

/**
 * A durable consumer that keeps the fleet's status counts per minute (net changes):
 * a new agent adds one to its status, a transition moves one from a status to another,
 * a deregistration takes one away. It starts at the beginning of the log, so the
 * deltas summed up to any minute are the fleet's counts at the end of it.
 */
export const availabilityConsumer: ConsumerDefinition = {
  name: 'fleet-availability',
  kinds: [AGENT_KIND],
  startAt: 'beginning',
  async handle(tx, records) {
    const deltas = new Map<string, StatusDelta>();
    const add = (at: Date, status: AgentStatus | null, delta: number) => {
      if (status === null) return;
      const minute = new Date(Math.floor(at.getTime() / MINUTE) * MINUTE);
      const key = `${minute.getTime()}:${status}`;
      const entry = deltas.get(key);
      if (entry) entry.delta += delta;
      else deltas.set(key, { minute, status, delta });
    };
    for (const record of records) {
      const e = toAgentEvent(record);
      if (!e) continue;
      if (e.type === 'registered') add(e.at, e.agent.status, 1);
      else if (e.type === 'status_changed') {
        add(e.at, e.previousStatus, -1);
        add(e.at, e.status, 1);
      } else if (e.type === 'deregistered') add(e.at, e.previousStatus ?? e.agent.status, -1);
    }
    await availabilityStore.add(tx, [...deltas.values()].filter((d) => d.delta !== 0));
  },
};
