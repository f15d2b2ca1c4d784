import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertIn, alertsOf, gql } from '../helpers/alerts';
import { inParallel } from '../helpers/client';
import { registerAgent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * More silences in force than any one read used to take (1 000): a new silence still
 * mutes its alerts, and the list of silences shows every one that has not ended.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '50', ALERT_TICK_MS: '100' } });
});
afterAll(() => server?.close());

const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
const mustCreateSilence = async (input: Record<string, unknown>) => (await gql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id active } }', { i: input })).createSilence;

async function firingAlert(environment: string) {
  const agent = await registerAgent(server.url, server.enrollmentToken, { name: `mass-${environment}`, environment, heartbeat_interval_seconds: 1 });
  return { agent, alert: await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', 'Agent offline') };
}

describe('silences by the thousand', () => {
  it('mutes with a new silence when more than 1 000 silences are in force, and lists every one of them', async () => {
    const { agent, alert } = await firingAlert('mass-silence');
    const fillers = 1000;
    await inParallel(fillers, 8, (i) => mustCreateSilence({ matchers: [{ name: 'environment', value: `filler-${i}` }], comment: `filler ${i}`, endsAt: inHours(2) }));
    const silence = await mustCreateSilence({ matchers: [{ name: 'environment', value: 'mass-silence' }], comment: 'the one that matters', endsAt: inHours(1) });
    expect(silence.active).toBe(true);
    const [after] = await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING']);
    expect(after).toMatchObject({ id: alert.id, silenced: true, silencedBy: [silence.id] });
    const { silences } = await gql(server.url, server.viewerToken, '{ silences { id } }');
    expect(silences.length).toBeGreaterThanOrEqual(fillers + 1);
    expect(silences.map((s: { id: string }) => s.id)).toContain(silence.id);
  }, 120_000);
});
