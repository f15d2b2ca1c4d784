import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder';
import './scalars';
import './viewer.schema';
import '../agents/agents.schema';
import '../agents/agents.mutations';
import '../liveness/liveness.schema';
import '../events/events.schema';

export const schema = builder.toSchema();

export const printedSchema = () => printSchema(lexicographicSortSchema(schema)) + '\n';
