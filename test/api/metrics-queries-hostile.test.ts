import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError } from '../helpers/agents';
import { graphql } from '../helpers/client';
import { registerAgent, subscribeSse, waitFor, type Agent } from '../helpers/liveness';
import { pushRest } from '../helpers/metrics';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * A NUL in a metric query's string arguments: PostgreSQL text cannot hold one, so it is
 * refused as bad input naming the argument (400), written inline in the document
 * ("a\u0000b" is a valid GraphQL string) or sent in a variable alike.
 */
let server: TestServer;
let agent: Agent;
beforeAll(async () => {
  server = await startTestServer();
  agent = await registerAgent(server.url, server.enrollmentToken, { name: 'nul-metrics' });
  expect((await pushRest(server.url, agent.id, agent.token, [{ name: 'cpu_percent', value: 1 }])).status).toBeLessThan(300);
});
afterAll(() => server?.close());

const NUL = 'a\u0000b';
/** The argument inline, as GraphQL writes a NUL in a string. */
const inline = (value: string) => JSON.stringify(value).replace(/\u0000/g, '\\u0000');

/** Each query, with `%` where the bad string goes, its variable type, and the field the refusal names. */
const cases = (id: string): [string, string, string, string][] => [
  ['metricNames(search)', 'String', '{ metricNames(search: %) { name } }', 'search'],
  ['metricSummary(name)', 'String!', '{ metricSummary(name: %) { name } }', 'name'],
  ['fleetMetric(name)', 'String!', `{ fleetMetric(agentIds: ["${id}"], name: %) { latest } }`, 'name'],
  ['Agent.metrics(names)', '[String!]', `{ agent(id: "${id}") { metrics(names: [%]) { stepSeconds } } }`, 'names.0'],
  ['Agent.latestMetrics(names)', '[String!]', `{ agent(id: "${id}") { latestMetrics(names: [%]) { name } } }`, 'names.0'],
];

function expectRefused(res: Awaited<ReturnType<typeof graphql>>, field: string, what: string) {
  const label = `${what}: ${JSON.stringify(res.body).slice(0, 200)}`;
  expect(res.status, label).toBe(400);
  expect(onlyError(res).extensions, label).toMatchObject({ code: 'BAD_USER_INPUT', fields: { [field]: 'must not contain NUL characters' } });
}

describe('a NUL in a metric query argument', () => {
  it('is refused with 400 BAD_USER_INPUT naming the argument, written inline', async () => {
    for (const [what, , query, field] of cases(agent.id)) {
      expectRefused(await graphql(server.url, server.viewerToken, query.replace('%', inline(NUL))), field, `${what} inline`);
    }
  });

  it('is refused the same way sent in a variable', async () => {
    for (const [what, type, query, field] of cases(agent.id)) {
      const value = type.startsWith('[') ? [NUL] : NUL;
      const res = await graphql(server.url, server.viewerToken, `query($v: ${type}) ${query.replace('[%]', '$v').replace('%', '$v')}`, { v: value });
      expectRefused(res, field, `${what} in a variable`);
    }
  });

  it('names the entry of a list that holds it, among good names', async () => {
    const res = await graphql(server.url, server.viewerToken, 'query($id: ID!, $n: [String!]) { agent(id: $id) { latestMetrics(names: $n) { name } } }', { id: agent.id, n: ['cpu_percent', 'mem', NUL] });
    expectRefused(res, 'names.2', 'the third name');
  });

  it('leaves the same queries with ordinary names answering', async () => {
    for (const [what, , query] of cases(agent.id)) {
      const res = await graphql(server.url, server.viewerToken, query.replace('%', '"cpu_percent"'));
      expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 200)}`).toBe(200);
      expect(res.body.errors, what).toBeUndefined();
    }
  });

  it('is refused on the agentMetrics subscription too, whose feed would have given ["a\\u0000b"] and ["a", "b"] one key', async () => {
    const stream = subscribeSse(server.url, server.viewerToken, 'subscription($id: ID!, $n: [String!]) { agentMetrics(agentId: $id, names: $n) { agentId } }', { id: agent.id, n: [NUL] });
    try {
      const errors = await waitFor(() => (stream.errors.length > 0 ? (stream.errors[0] as { extensions?: unknown }[]) : undefined), { timeout: 5_000, what: 'the subscription to be refused' });
      expect(errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { 'names.0': 'must not contain NUL characters' } });
      expect(await stream.status).toBe(400);
    } finally {
      stream.dispose();
    }
  });
});
