import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql, request } from '../helpers/client';
import { onlyError, registerRest } from '../helpers/agents';
import { heartbeatRest, registerAgent, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

let counter = 0;
const newAgent = (fields: Record<string, unknown> = {}) => registerAgent(server.url, server.enrollmentToken, { name: `hb-${++counter}`, ...fields });
const beat = (agent: Agent, body: unknown = {}, token: string | undefined = agent.token) => heartbeatRest(server.url, agent.id, token, body);

const HEARTBEAT = `mutation($input: HeartbeatInput!) {
  heartbeat(input: $input) { serverTime status nextHeartbeatBy offlineAt heartbeatIntervalSeconds configurationRevision staleSequence }
}`;
const beatGraphQL = (token: string | undefined, input: Record<string, unknown>) => graphql(server.url, token, HEARTBEAT, { input });

const AGENT = 'query($id: ID!) { agent(id: $id) { status health healthMessage lastHeartbeat offlineAt } }';
/** What a heartbeat may change, read through the operator's door. */
async function stateOf(id: string) {
  const res = await graphql(server.url, server.viewerToken, AGENT, { id });
  if (res.body.errors) throw new Error(JSON.stringify(res.body.errors));
  return res.body.data.agent as { status: string; health: string; healthMessage: string | null; lastHeartbeat: string | null; offlineAt: string };
}

/** A well-formed agent token for an id the server never issued. */
const forgedToken = (id: string) => `am_agent_${id.replaceAll('-', '')}_${randomBytes(32).toString('base64url')}`;

describe('a heartbeat with the agent’s own token', () => {
  it('answers REST in snake_case with server_time, status, next_heartbeat_by, heartbeat_interval_seconds and configuration_revision', async () => {
    const agent = await newAgent({ heartbeat_interval_seconds: 10 });
    const res = await beat(agent, { health: { status: 'healthy', message: 'all good' }, sequence: 1 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'online', heartbeat_interval_seconds: 10, configuration_revision: 0, stale_sequence: false });
    const serverTime = Date.parse(res.body.server_time);
    expect(Math.abs(serverTime - Date.now())).toBeLessThan(5_000);
    expect(Date.parse(res.body.next_heartbeat_by) - serverTime).toBe(10_000);
    // Three missed 10 s intervals from the moment the heartbeat was written.
    const offlineIn = Date.parse(res.body.offline_at) - serverTime;
    expect(offlineIn).toBeLessThanOrEqual(30_000);
    expect(offlineIn).toBeGreaterThan(29_000);

    const state = await stateOf(agent.id);
    expect(state).toMatchObject({ status: 'ONLINE', health: 'HEALTHY', healthMessage: 'all good', offlineAt: res.body.offline_at });
    expect(Date.parse(state.lastHeartbeat!)).toBeLessThanOrEqual(serverTime);
    expect(serverTime - Date.parse(state.lastHeartbeat!)).toBeLessThan(5_000);
  });

  it('answers the GraphQL heartbeat mutation with serverTime, status, nextHeartbeatBy, heartbeatIntervalSeconds and configurationRevision', async () => {
    const agent = await newAgent({ heartbeat_interval_seconds: 20 });
    const res = await beatGraphQL(agent.token, { agentId: agent.id, health: { status: 'DEGRADED', message: 'disk 91%' }, sequence: 7 });
    expect(res.body.errors).toBeUndefined();
    const hb = res.body.data.heartbeat;
    expect(hb).toMatchObject({ status: 'DEGRADED', heartbeatIntervalSeconds: 20, configurationRevision: 0, staleSequence: false });
    expect(Date.parse(hb.nextHeartbeatBy) - Date.parse(hb.serverTime)).toBe(20_000);
    expect(await stateOf(agent.id)).toMatchObject({ status: 'DEGRADED', health: 'DEGRADED', healthMessage: 'disk 91%', offlineAt: hb.offlineAt });
  });

  it('treats a heartbeat without a health object as healthy', async () => {
    const agent = await newAgent();
    await beat(agent, { health: { status: 'unhealthy' } });
    const res = await beat(agent, {});
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('online');
    expect(await stateOf(agent.id)).toMatchObject({ status: 'ONLINE', health: 'HEALTHY', healthMessage: null });
  });

  it('shows a configuration change as a bumped revision in the next answer, and the agent then reads the new value with its token', async () => {
    const agent = await newAgent();
    expect((await beat(agent)).body.configuration_revision).toBe(0);

    const set = await graphql(server.url, server.adminToken, 'mutation($id: ID!) { setAgentConfiguration(agentId: $id, key: "log.level", value: "debug") { configurationRevision } }', { id: agent.id });
    expect(set.body.data.setAgentConfiguration.configurationRevision).toBe(1);

    const rest = await beat(agent);
    expect(rest.body.configuration_revision).toBe(1);
    const gql = await beatGraphQL(agent.token, { agentId: agent.id });
    expect(gql.body.data.heartbeat.configurationRevision).toBe(1);

    const restConfig = await request(`${server.url}/api/v1/agents/${agent.id}/configuration`, { token: agent.token });
    expect(restConfig.status).toBe(200);
    expect(restConfig.body).toMatchObject({ configuration_revision: 1, configuration: { 'log.level': 'debug' } });
    const gqlConfig = await graphql(server.url, agent.token, 'query($id: ID!) { agentConfiguration(agentId: $id) { revision entries { key value } } }', { id: agent.id });
    expect(gqlConfig.body.data.agentConfiguration).toEqual({ revision: 1, entries: [{ key: 'log.level', value: 'debug' }] });
  });
});

describe('acknowledged only once committed', () => {
  it('lets 100 agents heartbeat at once: every one succeeds, and a read made right after each answer already shows that heartbeat', async () => {
    const agents = await Promise.all(Array.from({ length: 100 }, () => newAgent()));
    const results = await Promise.all(
      agents.map(async (agent, i) => {
        const res = await beat(agent, { health: { status: 'degraded', message: `m-${i}` } });
        // Read at once: an acknowledged heartbeat must already be committed.
        return { res, state: await stateOf(agent.id) };
      }),
    );
    for (const [i, { res, state }] of results.entries()) {
      expect(res.status).toBe(200);
      expect(res.body.status).toBe('degraded');
      expect(state).toMatchObject({ status: 'DEGRADED', health: 'DEGRADED', healthMessage: `m-${i}` });
      expect(state.lastHeartbeat).not.toBeNull();
      expect(Date.parse(state.lastHeartbeat!)).toBeLessThanOrEqual(Date.parse(res.body.server_time));
    }
  });

  it('answers 50 concurrent heartbeats of one agent, mixing REST and GraphQL, all with success, and lastHeartbeat is set once they resolve', async () => {
    const agent = await newAgent();
    expect((await stateOf(agent.id)).lastHeartbeat).toBeNull();
    const health = { status: 'unhealthy', message: 'same for all' };
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? beat(agent, { health }).then((r) => ({ ok: r.status === 200, status: r.body.status, at: r.body.server_time }))
          : beatGraphQL(agent.token, { agentId: agent.id, health: { ...health, status: 'UNHEALTHY' } }).then((r) => ({
              ok: !r.body.errors,
              status: r.body.data?.heartbeat.status.toLowerCase(),
              at: r.body.data?.heartbeat.serverTime,
            })),
      ),
    );
    expect(answers.filter((a) => !a.ok)).toEqual([]);
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set(['degraded']));
    const state = await stateOf(agent.id);
    expect(state).toMatchObject({ status: 'DEGRADED', health: 'UNHEALTHY', healthMessage: 'same for all' });
    expect(Date.parse(state.lastHeartbeat!)).toBeLessThanOrEqual(Math.max(...answers.map((a) => Date.parse(a.at))));
  });
});

describe('refused heartbeats change nothing', () => {
  /** Sends `attempt`, expects `status` and `code`, and proves the agent is exactly as before. */
  async function refusedWithoutEffect(agent: Agent, attempt: () => Promise<{ status: number; body: any }>, status: number, code: string) {
    const before = await stateOf(agent.id);
    const res = await attempt();
    expect(res.status).toBe(status);
    const actual = res.body.error?.code ?? onlyError(res as any).extensions?.code;
    expect(actual).toBe(code);
    expect(await stateOf(agent.id)).toEqual(before);
    return res;
  }
  const degraded = { health: { status: 'degraded', message: 'must not be written' }, sequence: 99 };

  it('refuses another agent’s token with 403 over REST and GraphQL, and lastHeartbeat stays unchanged', async () => {
    const victim = await newAgent();
    const intruder = await newAgent();
    expect((await beat(victim)).status).toBe(200);
    const before = await stateOf(victim.id);
    expect(before.lastHeartbeat).not.toBeNull();

    await refusedWithoutEffect(victim, () => beat(victim, degraded, intruder.token), 403, 'FORBIDDEN');
    await refusedWithoutEffect(victim, () => beatGraphQL(intruder.token, { agentId: victim.id, health: { status: 'DEGRADED' } }), 403, 'FORBIDDEN');
    expect((await stateOf(victim.id)).lastHeartbeat).toBe(before.lastHeartbeat);
  });

  it('refuses a token revoked by re-registration or one the server never issued with 401, and an operator token with 403', async () => {
    const fields = { name: `hb-revoked-${++counter}` };
    const old = await newAgent(fields);
    // A heartbeat first, so the server has met this token and remembers what it says (its
    // agent and hash): what it remembers must not outlive the revocation.
    expect((await beat(old, {})).status).toBe(200);
    // Registering the same agent again answers 200 with the same id and a new token, revoking
    // the old one (an admin's registration: the enrollment token may not take over a live agent).
    const again = await registerRest(server.url, server.adminToken, fields);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(old.id);
    expect((await beat(old, {}, again.body.token)).status).toBe(200);

    await refusedWithoutEffect(old, () => beat(old, degraded), 401, 'UNAUTHENTICATED');
    await refusedWithoutEffect(old, () => beatGraphQL(old.token, { agentId: old.id, health: { status: 'DEGRADED' } }), 401, 'UNAUTHENTICATED');
    await refusedWithoutEffect(old, () => beat(old, degraded, 'not-a-token-this-server-issued'), 401, 'UNAUTHENTICATED');
    await refusedWithoutEffect(old, () => beat(old, degraded, server.adminToken), 403, 'FORBIDDEN');
    await refusedWithoutEffect(old, () => beatGraphQL(server.adminToken, { agentId: old.id }), 403, 'FORBIDDEN');
  });


  it('answers each heartbeat on its own token when forged and revoked ones arrive together with the agent’s own: theirs 401, its own 200 and written', async () => {
    const fields = { name: `hb-mixed-${++counter}` };
    const old = await newAgent(fields);
    const current = (await registerRest(server.url, server.enrollmentToken, fields)).body.token as string;
    const forged = forgedToken(old.id);
    for (let round = 1; round <= 10; round++) {
      // Sent at once, so they share a batch: the strangers' higher sequences come first.
      const strangers = [
        beat(old, { sequence: 2_000_000_000, health: { status: 'degraded', message: 'forged' } }, forged),
        beatGraphQL(forged, { agentId: old.id, sequence: 2_000_000_000, health: { status: 'DEGRADED' } }),
        beat(old, { sequence: 2_000_000_000, health: { status: 'degraded', message: 'revoked' } }),
      ];
      const own = beat(old, { sequence: round, health: { status: 'healthy', message: `round ${round}` } }, current);
      const [refused, refusedGraphQL, revoked] = await Promise.all(strangers);
      expect([refused.status, revoked.status]).toEqual([401, 401]);
      expect(onlyError(refusedGraphQL).extensions?.code).toBe('UNAUTHENTICATED');
      const answer = await own;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ status: 'online', stale_sequence: false });
      expect(await stateOf(old.id)).toMatchObject({ health: 'HEALTHY', healthMessage: `round ${round}` });
    }
  });
  it('refuses a heartbeat without a token, or with a malformed Authorization header, with 401', async () => {
    const agent = await newAgent();
    await beat(agent);
    await refusedWithoutEffect(agent, () => heartbeatRest(server.url, agent.id, undefined, degraded), 401, 'UNAUTHENTICATED');
    await refusedWithoutEffect(
      agent,
      () => request(`${server.url}/api/v1/agents/${agent.id}/heartbeat`, { json: degraded, headers: { authorization: `Basic ${agent.token}` } }),
      401,
      'UNAUTHENTICATED',
    );
  });

  it('answers 401 to a token for an agent that does not exist, over REST and GraphQL, and creates nothing', async () => {
    const id = randomUUID();
    const token = forgedToken(id);
    const rest = await heartbeatRest(server.url, id, token, degraded);
    expect(rest.status).toBe(401);
    expect(rest.body.error.code).toBe('UNAUTHENTICATED');
    const gql = await beatGraphQL(token, { agentId: id });
    expect(gql.status).toBe(401);
    expect(onlyError(gql).extensions?.code).toBe('UNAUTHENTICATED');
    expect((await request(`${server.url}/api/v1/agents/${id}`, { token: server.viewerToken })).status).toBe(404);
  });

  it('answers 401 to the token of a deregistered agent, and its event log gains nothing after the deregistration', async () => {
    const agent = await newAgent();
    await beat(agent);
    const gone = await graphql(server.url, server.adminToken, 'mutation($id: ID!) { deregisterAgent(id: $id) { id } }', { id: agent.id });
    expect(gone.body.errors).toBeUndefined();

    const rest = await beat(agent, degraded);
    expect(rest.status).toBe(401);
    expect(rest.body.error.code).toBe('UNAUTHENTICATED');
    const gql = await beatGraphQL(agent.token, { agentId: agent.id });
    expect(onlyError(gql).extensions?.code).toBe('UNAUTHENTICATED');

    const log = await graphql(server.url, server.viewerToken, 'query($id: ID!) { agentEventLog(agentId: $id) { type } }', { id: agent.id });
    expect(log.body.data.agentEventLog.map((e: { type: string }) => e.type)).toEqual(['REGISTERED', 'DEREGISTERED']);
    expect((await request(`${server.url}/api/v1/agents/${agent.id}`, { token: server.viewerToken })).status).toBe(404);
  });

  it('refuses a health status outside the enum: 400 over REST naming health.status, a validation error over GraphQL', async () => {
    const agent = await newAgent();
    await beat(agent);
    const res = await refusedWithoutEffect(agent, () => beat(agent, { health: { status: 'sleepy' } }), 400, 'BAD_USER_INPUT');
    expect(res.body.error.fields).toHaveProperty(['health.status']);
    await refusedWithoutEffect(agent, () => beat(agent, { health: 'healthy' }), 400, 'BAD_USER_INPUT');

    const before = await stateOf(agent.id);
    const document = `mutation { heartbeat(input: { agentId: "${agent.id}", health: { status: SLEEPY } }) { status } }`;
    const literal = await graphql(server.url, agent.token, document);
    expect(literal.body.data).toBeUndefined();
    expect(onlyError(literal).extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const overHttp = await request(`${server.url}/graphql`, { token: agent.token, headers: { accept: 'application/graphql-response+json' }, json: { query: document } });
    expect(overHttp.status).toBe(400);
    expect(onlyError(overHttp).extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const variable = await beatGraphQL(agent.token, { agentId: agent.id, health: { status: 'SLEEPY' } });
    expect(variable.status).toBe(400);
    expect(variable.body.data).toBeUndefined();
    const error = onlyError(variable);
    expect(error.message).toMatch(/SLEEPY.*HealthStatus/);
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: { 'input.health.status': expect.any(String) } });
    expect(await stateOf(agent.id)).toEqual(before);
  });

  it('refuses a health message over 1 KiB, counted in bytes, with 400, and accepts exactly 1 KiB', async () => {
    const agent = await newAgent();
    await beat(agent);
    const ascii = await refusedWithoutEffect(agent, () => beat(agent, { health: { status: 'degraded', message: 'x'.repeat(1025) } }), 400, 'BAD_USER_INPUT');
    expect(ascii.body.error.fields).toHaveProperty(['health.message']);
    // 342 characters but 1026 bytes in UTF-8.
    await refusedWithoutEffect(agent, () => beat(agent, { health: { status: 'degraded', message: '€'.repeat(342) } }), 400, 'BAD_USER_INPUT');
    await refusedWithoutEffect(agent, () => beatGraphQL(agent.token, { agentId: agent.id, health: { status: 'DEGRADED', message: 'x'.repeat(1025) } }), 400, 'BAD_USER_INPUT');

    const exact = 'y'.repeat(1021) + '€';
    expect(Buffer.byteLength(exact)).toBe(1024);
    expect((await beat(agent, { health: { status: 'degraded', message: exact } })).status).toBe(200);
    expect((await stateOf(agent.id)).healthMessage).toBe(exact);
  });

  it('refuses a sequence that is not a non-negative integer, and a body that is not a JSON object, with 400', async () => {
    const agent = await newAgent();
    await beat(agent);
    for (const sequence of [-1, 1.5, '7']) {
      const res = await refusedWithoutEffect(agent, () => beat(agent, { sequence, health: { status: 'degraded' } }), 400, 'BAD_USER_INPUT');
      expect(res.body.error.fields).toHaveProperty('sequence');
    }
    await refusedWithoutEffect(agent, () => request(`${server.url}/api/v1/agents/${agent.id}/heartbeat`, { token: agent.token, body: '{"health":', headers: { 'content-type': 'application/json' } }), 400, 'BAD_REQUEST');
    await refusedWithoutEffect(agent, () => beat(agent, [1, 2]), 400, 'BAD_REQUEST');
  });
});

describe('sequence numbers', () => {
  it('accepts a heartbeat whose sequence went backwards as a sign of life, without applying its health: seq 5 degraded then seq 3 healthy stays DEGRADED', async () => {
    const agent = await newAgent();
    const five = await beat(agent, { sequence: 5, health: { status: 'degraded', message: 'seq 5' } });
    expect(five.body).toMatchObject({ status: 'degraded', stale_sequence: false });
    const afterFive = await stateOf(agent.id);

    const three = await beat(agent, { sequence: 3, health: { status: 'healthy' } });
    expect(three.status).toBe(200);
    expect(three.body).toMatchObject({ status: 'degraded', stale_sequence: true });
    const afterThree = await stateOf(agent.id);
    expect(afterThree).toMatchObject({ status: 'DEGRADED', health: 'DEGRADED', healthMessage: 'seq 5' });
    // Still proof of life: the deadline moved.
    expect(Date.parse(afterThree.lastHeartbeat!)).toBeGreaterThanOrEqual(Date.parse(afterFive.lastHeartbeat!));
    expect(afterThree.offlineAt).toBe(three.body.offline_at);

    const gqlStale = await beatGraphQL(agent.token, { agentId: agent.id, sequence: 4, health: { status: 'HEALTHY' } });
    expect(gqlStale.body.data.heartbeat).toMatchObject({ status: 'DEGRADED', staleSequence: true });

    const six = await beat(agent, { sequence: 6, health: { status: 'healthy' } });
    expect(six.body).toMatchObject({ status: 'online', stale_sequence: false });
    expect(await stateOf(agent.id)).toMatchObject({ status: 'ONLINE', health: 'HEALTHY' });
  });

  it('applies an equal sequence and heartbeats without a sequence', async () => {
    const agent = await newAgent();
    await beat(agent, { sequence: 9, health: { status: 'degraded' } });
    expect((await beat(agent, { sequence: 9, health: { status: 'healthy' } })).body).toMatchObject({ status: 'online', stale_sequence: false });
    expect((await beat(agent, { health: { status: 'unhealthy' } })).body).toMatchObject({ status: 'degraded', stale_sequence: false });
  });
});
