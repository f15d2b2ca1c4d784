import SchemaBuilder from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import RelayPlugin from '@pothos/plugin-relay';
import SimpleObjectsPlugin from '@pothos/plugin-simple-objects';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { relations, type Relations } from '../relations';
import type { GraphQLContext } from './context';

export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  DrizzleRelations: Relations;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  defaultFieldNullability: false,
  plugins: [SimpleObjectsPlugin, RelayPlugin, DrizzlePlugin],
  relay: {
    nodesOnConnection: true,
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: { list: false, items: false } },
    nodeFieldOptions: { nullable: false },
  },
  drizzle: {
    // One schema serves every server in the process; each request brings its database.
    client: (ctx) => ctx.db,
    getTableConfig,
    relations,
    defaultConnectionSize: 50,
    maxConnectionSize: 1000,
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
