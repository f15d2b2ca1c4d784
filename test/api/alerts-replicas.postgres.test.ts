import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, routeTo } from '../helpers/alerts';
import { registerAgent, waitFor } from '../helpers/liveness';
import { useReplicaCluster } from '../helpers/replica';
import { TOKENS } from '../helpers/server';
import { startReceiver } from '../helpers/webhooks';

/**
 * Two real server processes on one PostgreSQL: every alert is created once, every
 * notification sent once, and a notification enqueued by a process killed before it
 * could send it is sent after a restart.
 */
const ENV = { SWEEP_INTERVAL_MS: '50', CONSUMER_LEASE_MS: '1000', ALERT_TICK_MS: '100', WEBHOOK_POLL_MS: '50', LOG_LEVEL: 'error' };

describe('alerts across two replicas', () => {
  const cluster = useReplicaCluster(ENV);
  const { replicas } = cluster;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('creates each alert once and notifies each once, whichever replica saw the transition', async () => {
    const [a, b] = replicas;
    const { secret } = await routeTo(a.url, TOKENS.admin, receiver.urlFor('pair'), { name: 'pair', matchers: [{ name: 'environment', value: 'pair' }], groupWaitSeconds: 1 });
    receiver.setSecret(secret);
    const n = 200;
    const agents = await Promise.all(Array.from({ length: n }, (_, i) => registerAgent((i % 2 ? a : b).url, TOKENS.enrollment, { name: `pair-${i}`, environment: 'pair', heartbeat_interval_seconds: 1 })));
    const ids = new Set(agents.map((x) => x.id));
    const notified = () => receiver.received.filter((r) => r.path === '/pair').flatMap((r) => r.json.alerts.map((x: any) => x.agent.id as string));
    await waitFor(() => notified().length >= n, { timeout: 30_000, what: `${n} notified alerts` });
    await new Promise((r) => setTimeout(r, 1500));
    const seen = notified();
    expect(seen).toHaveLength(n);
    expect(new Set(seen)).toEqual(ids);
    expect(receiver.received.filter((r) => r.path === '/pair').every((r) => r.verified)).toBe(true);
    const { rows } = await cluster.outsider.query(`select agent_id, count(*)::int as n from alerts where rule_name = 'Agent offline' group by agent_id`);
    expect(rows).toHaveLength(n);
    expect(rows.every((r) => r.n === 1)).toBe(true);
    const fired = await cluster.outsider.query(`select count(*)::int as n from events where subject_kind = 'alert' and type = 'firing'`);
    expect(fired.rows[0].n).toBe(n);
    const counts = await gql(b.url, TOKENS.viewer, '{ alertCounts { firing { critical } } }');
    expect(counts.alertCounts.firing.critical).toBe(n);
  }, 90_000);

  it('sends, after a restart, a notification enqueued by processes killed before they could send it', async () => {
    const { secret } = await routeTo(replicas[0].url, TOKENS.admin, receiver.urlFor('killed'), { name: 'killed', matchers: [{ name: 'environment', value: 'killed' }], groupWaitSeconds: 4 });
    receiver.setSecret(secret);
    const agent = await registerAgent(replicas[1].url, TOKENS.enrollment, { name: 'killed-1', environment: 'killed', heartbeat_interval_seconds: 1 });
    await waitFor(async () => (await cluster.outsider.query(`select 1 from notifications where alert_id in (select id from alerts where agent_id = $1) and delivery_id is null`, [agent.id])).rowCount === 1, {
      what: 'the notification to be enqueued',
    });
    await Promise.all(replicas.splice(0).map((r) => r.kill()));
    expect(receiver.received.filter((r) => r.path === '/killed')).toHaveLength(0);
    replicas.push(await cluster.start());
    await receiver.until((list) => list.some((r) => r.path === '/killed'));
    const message = receiver.received.find((r) => r.path === '/killed')!;
    expect(message.json.alerts[0].agent.id).toBe(agent.id);
    expect(message.verified).toBe(true);
  }, 60_000);
});
