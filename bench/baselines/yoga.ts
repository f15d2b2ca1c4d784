/**
 * Baseline: the smallest graphql-yoga server that accepts the real heartbeat mutation
 * (same document, same variables) and returns a constant, served the way yoga's docs
 * show: `http.createServer(yoga)`.
 */
import { createSchema, createYoga } from 'graphql-yoga';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const yoga = createYoga({
  logging: false,
  landingPage: false,
  graphiql: false,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      enum HealthStatus { HEALTHY DEGRADED UNHEALTHY }
      enum AgentStatus { ONLINE DEGRADED OFFLINE }
      input HealthInput { status: HealthStatus!, message: String }
      input HeartbeatInput { agentId: ID!, health: HealthInput, sequence: Int }
      type HeartbeatPayload { status: AgentStatus!, serverTime: String! }
      type Query { ok: Boolean }
      type Mutation { heartbeat(input: HeartbeatInput!): HeartbeatPayload! }
    `,
    resolvers: { Mutation: { heartbeat: () => ({ status: 'ONLINE', serverTime: '2025-01-01T00:00:00.000Z' }) } },
  }),
});

const server = http.createServer(yoga);
server.keepAliveTimeout = 5_000;
server.listen(0, '127.0.0.1', () => console.log(`trivial yoga listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
