import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertIn, createRule, gql } from '../helpers/alerts';
import { heartbeatRest, registerAgent, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The flapping flag beside an alert's state: set when the alert's agent changed status
 * ALERT_FLAP_CHANGES times within ALERT_FLAP_WINDOW_SECONDS, cleared when those changes
 * age out, each turn an event of the alert.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { ALERT_TICK_MS: '100', ALERT_FLAP_CHANGES: '3', ALERT_FLAP_WINDOW_SECONDS: '3' } });
});
afterAll(async () => {
  await server?.close();
});

let counter = 0;
const agentIn = (environment: string) => registerAgent(server.url, server.enrollmentToken, { name: `flap-${++counter}`, environment, heartbeat_interval_seconds: 3600 });
const health = (agent: { id: string; token: string }, status: string) => heartbeatRest(server.url, agent.id, agent.token, { health: { status } });

describe('the flapping flag', () => {
  it('flags an open alert whose agent changes status often, with an event, and clears it once the changes age out', async () => {
    const agent = await agentIn('flag-open');
    const { rule } = await createRule(server.url, server.adminToken, {
      name: 'degraded, kept firing',
      kind: 'AGENT_STATUS',
      severity: 'WARNING',
      scope: { environment: 'flag-open' },
      condition: { statuses: ['DEGRADED'] },
      keepFiringForSeconds: 60,
    });
    await health(agent, 'degraded');
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    const timeline = () => gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { state flapping timeline { type reason alert { flapping } } } }', { id: alert.id });
    const after = (type: string) => waitFor(async () => ((await timeline()).alert.timeline.some((e: any) => e.type === type) ? (await timeline()).alert : undefined), { what: `a ${type} event` });
    await health(agent, 'healthy');
    await after('CLEARING');
    await health(agent, 'degraded');
    const flagged = await after('FLAPPING');
    expect(flagged.flapping || flagged.timeline.some((e: any) => e.type === 'STABLE')).toBe(true);
    const done = await after('STABLE');
    expect(done.timeline.map((e: any) => e.type)).toEqual(['FIRING', 'CLEARING', 'FIRING', 'FLAPPING', 'STABLE']);
    expect(done.timeline.map((e: any) => e.alert.flapping)).toEqual([false, false, false, true, false]);
    expect(done.timeline[3].reason).toBe('3 status changes of the agent in the last 3 s');
    expect(done).toMatchObject({ state: 'FIRING', flapping: false });
  });

  it('opens a new episode already flagged when its agent is flapping, and leaves a steady agent’s alerts unflagged', async () => {
    const flappy = await agentIn('flag-new');
    const steady = await agentIn('flag-new');
    const { rule } = await createRule(server.url, server.adminToken, { name: 'degraded', kind: 'AGENT_STATUS', scope: { environment: 'flag-new' }, condition: { statuses: ['DEGRADED'] } });
    await health(steady, 'degraded');
    for (const status of ['degraded', 'healthy', 'degraded']) await health(flappy, status);
    // The first episode resolved, so the firing alert found next is the second one, born
    // while the agent flaps (the consumer may take the three changes in one batch or three).
    const resolved = async () => (await gql(server.url, server.viewerToken, 'query($f: AlertFilter) { alerts(filter: $f) { nodes { id } } }', { f: { agentId: flappy.id, state: ['RESOLVED'] } })).alerts.nodes.length;
    await waitFor(async () => ((await resolved()) === 1 ? true : undefined), { what: 'the first episode resolved' });
    const born = await alertIn(server.url, server.viewerToken, flappy.id, 'FIRING', rule.name);
    const { alert } = await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { flapping timeline { type alert { flapping } } } }', { id: born.id });
    expect(alert.flapping).toBe(true);
    expect(alert.timeline).toEqual([{ type: 'FIRING', alert: { flapping: true } }]);
    const first = await gql(server.url, server.viewerToken, 'query($f: AlertFilter) { alerts(filter: $f) { nodes { state flapping } } }', { f: { agentId: flappy.id, state: ['RESOLVED'] } });
    expect(first.alerts.nodes).toEqual([{ state: 'RESOLVED', flapping: false }]);
    const calm = await alertIn(server.url, server.viewerToken, steady.id, 'FIRING', rule.name);
    expect((await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { flapping } }', { id: calm.id })).alert.flapping).toBe(false);
  });
});
