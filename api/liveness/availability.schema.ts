import { builder } from '../graphql/builder';
import { MAX_POINTS } from './availability.service';

const AvailabilityPoint = builder.simpleObject('AvailabilityPoint', {
  fields: (t) => ({
    at: t.field({ type: 'DateTime', description: 'The end of the step; the counts are those at this instant.' }),
    online: t.int(),
    degraded: t.int(),
    offline: t.int(),
  }),
});

const FleetAvailability = builder.simpleObject('FleetAvailability', {
  fields: (t) => ({
    from: t.field({ type: 'DateTime' }),
    to: t.field({ type: 'DateTime' }),
    stepSeconds: t.int(),
    points: t.field({ type: [AvailabilityPoint] }),
  }),
});

builder.queryField('fleetAvailability', (t) =>
  t.field({
    type: FleetAvailability,
    description: `The number of agents online, degraded and offline over time, at the end of each step (whole minutes; by default about 300 steps over the last 24 h; at most ${MAX_POINTS} points). Kept from the event log by a durable consumer, so it may trail the newest events by a moment.`,
    args: { from: t.arg({ type: 'DateTime' }), to: t.arg({ type: 'DateTime' }), stepSeconds: t.arg.int() },
    resolve: (_root, args, ctx) => ctx.services.availability.history(ctx.principal, args),
  }),
);
