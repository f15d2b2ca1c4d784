import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder';
import './scalars';
import './viewer.schema';
import '../agents/agents.schema';
import '../agents/agents.mutations';
import '../agents/agents.bulk.schema';
import '../liveness/liveness.schema';
import '../liveness/availability.schema';
import '../agents/agents.events.schema';
import '../metrics/metrics.schema';
import '../alerts/rules.schema';
import '../notifications/notifications.schema';
import '../alerts/alerts.schema';
import '../keys/keys.schema';

export const schema = builder.toSchema();

export const printedSchema = () => printSchema(lexicographicSortSchema(schema)) + '\n';
