import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../api/db';
import { AlertTicker } from '../../api/alerts/ticker';
import { alertIn, alertsOf, gql } from '../helpers/alerts';
import { registerAgent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The ticker's silences job against an updateSilence that commits between the ticker's
 * first look at the silences and its transaction. The job must apply the silences as
 * they stand under the alerts' locks; applying the first look would undo the update.
 * The interleaving is forced: the update runs when the job's transaction is asked for.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '50', ALERT_TICK_MS: '100', LOG_LEVEL: 'silent' } });
});
afterAll(() => server?.close());

const SILENCE = 'id matchers { name value }';
const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();

async function firingAlert(environment: string) {
  const agent = await registerAgent(server.url, server.enrollmentToken, { name: `race-${environment}`, environment, heartbeat_interval_seconds: 1 });
  return { agent, alert: await alertIn(server.url, server.viewerToken, agent.id, 'FIRING') };
}

describe('the ticker applying silences while a silence is edited', () => {
  it('keeps what an updateSilence committed after the ticker first read the silences', async () => {
    const a = await firingAlert('race-a');
    const b = await firingAlert('race-b');
    const silence = (await gql(server.url, server.adminToken, `mutation($i: SilenceInput!) { createSilence(input: $i) { ${SILENCE} } }`, {
      i: { matchers: [{ name: 'environment', value: 'race-a' }], comment: 'a first', endsAt: inHours(2) },
    })).createSilence;
    expect((await alertsOf(server.url, server.viewerToken, a.agent.id, ['FIRING']))[0].silencedBy).toEqual([silence.id]);

    // The server's own ticker stays out of the way: this test runs one by hand.
    const ticker = server.app.alerting.ticker;
    await ticker.stop();
    const real = ticker['deps'];
    let edited = false;
    const events = Object.create(real.events) as typeof real.events;
    events.transaction = async <T,>(work: (tx: Db) => Promise<T>): Promise<T> => {
      if (!edited) {
        edited = true;
        const res = await gql(server.url, server.adminToken, `mutation($id: ID!, $i: SilenceInput!) { updateSilence(id: $id, input: $i) { ${SILENCE} } }`, {
          id: silence.id,
          i: { matchers: [{ name: 'environment', value: 'race-b' }], comment: 'b instead', endsAt: inHours(2) },
        });
        expect(res.updateSilence.matchers).toEqual([{ name: 'environment', value: 'race-b' }]);
      }
      return real.events.transaction(work);
    };
    await new AlertTicker({ ...real, events }).silences();
    expect(edited).toBe(true);

    expect((await alertsOf(server.url, server.viewerToken, a.agent.id, ['FIRING']))[0]).toMatchObject({ silenced: false, silencedBy: [] });
    expect((await alertsOf(server.url, server.viewerToken, b.agent.id, ['FIRING']))[0]).toMatchObject({ silenced: true, silencedBy: [silence.id] });
    // Each alert changed once, by the update: the ticker wrote no event of its own.
    const timeline = async (id: string) =>
      ((await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { timeline { type by } } }', { id })).alert.timeline as { type: string; by: string | null }[]).filter((e) =>
        ['SILENCED', 'UNSILENCED'].includes(e.type),
      );
    expect(await timeline(a.alert.id)).toEqual([
      { type: 'SILENCED', by: 'admin' },
      { type: 'UNSILENCED', by: 'admin' },
    ]);
    expect(await timeline(b.alert.id)).toEqual([{ type: 'SILENCED', by: 'admin' }]);
  });
});
