import { AGENT_KIND } from '../agents/agents.types';
import type { ConsumerDefinition } from '../events/consumers';
import { availabilityStore } from './availability.store';

/**
 * A durable consumer that keeps the fleet's status counts per minute (net changes):
 * a new agent adds one to its status, a transition moves one from a status to another,
 * a deregistration takes one away. It starts at the beginning of the log, so the
 * deltas summed up to any minute are the fleet's counts at the end of it.
 *
 * It needs two words of each event's payload, so the database reads them there: a mass
 * transition's ten thousand agent snapshots are not sent here and decoded for it.
 */
export const availabilityConsumer: ConsumerDefinition = {
  name: 'fleet-availability',
  kinds: [AGENT_KIND],
  startAt: 'beginning',
  payloads: false,
  async handle(tx, records) {
    await availabilityStore.addEvents(
      tx,
      records.map((r) => r.position.id),
    );
  },
};
