import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertIn, alertsOf, createRule, expectFields, gql } from '../helpers/alerts';
import { graphql } from '../helpers/client';
import { registerAgent, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Editing a silence through /graphql: updateSilence changes it in place, re-applies it to
 * the open alerts at once (with their SILENCED and UNSILENCED events), and refuses one
 * that has ended.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '50', ALERT_TICK_MS: '100', LOG_LEVEL: 'silent' } });
});
afterAll(() => server?.close());

const SILENCE = 'id active comment createdBy startsAt endsAt matchers { name op value } schedule { days start end timezone }';
const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
const create = async (input: Record<string, unknown>) => (await gql(server.url, server.adminToken, `mutation($i: SilenceInput!) { createSilence(input: $i) { ${SILENCE} } }`, { i: input })).createSilence;
const update = (token: string, id: string, input: Record<string, unknown>) => graphql(server.url, token, `mutation($id: ID!, $i: SilenceInput!) { updateSilence(id: $id, input: $i) { ${SILENCE} } }`, { id, i: input });
const timeline = async (alertId: string) => (await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { timeline { type by } } }', { id: alertId })).alert.timeline as { type: string; by: string | null }[];

let counter = 0;
async function firingAlert(environment: string) {
  const agent = await registerAgent(server.url, server.enrollmentToken, { name: `silence-edit-${++counter}`, environment, heartbeat_interval_seconds: 1 });
  return { agent, alert: await alertIn(server.url, server.viewerToken, agent.id, 'FIRING') };
}

describe('updateSilence', () => {
  it('changes the matchers in place: the alert it no longer matches is unmuted, the one it now matches is muted, each with its event', async () => {
    const a = await firingAlert('edit-a');
    const b = await firingAlert('edit-b');
    const silence = await create({ matchers: [{ name: 'environment', value: 'edit-a' }], comment: 'deploy a', endsAt: inHours(2) });
    expect((await alertsOf(server.url, server.viewerToken, a.agent.id, ['FIRING']))[0].silencedBy).toEqual([silence.id]);

    const res = await update(server.adminToken, silence.id, { matchers: [{ name: 'environment', value: 'edit-b' }], comment: 'deploy b instead', endsAt: inHours(3) });
    expect(res.body.errors).toBeUndefined();
    const changed = res.body.data.updateSilence;
    expect(changed).toMatchObject({ id: silence.id, active: true, comment: 'deploy b instead', createdBy: silence.createdBy, startsAt: silence.startsAt, matchers: [{ name: 'environment', op: 'EQ', value: 'edit-b' }] });
    expect(Date.parse(changed.endsAt)).toBeGreaterThan(Date.parse(silence.endsAt));

    expect((await alertsOf(server.url, server.viewerToken, a.agent.id, ['FIRING']))[0]).toMatchObject({ silenced: false, silencedBy: [] });
    expect((await alertsOf(server.url, server.viewerToken, b.agent.id, ['FIRING']))[0]).toMatchObject({ silenced: true, silencedBy: [silence.id] });
    expect(await timeline(a.alert.id)).toEqual(expect.arrayContaining([{ type: 'SILENCED', by: 'admin' }, { type: 'UNSILENCED', by: 'admin' }]));
    expect((await timeline(b.alert.id)).map((e) => e.type)).toContain('SILENCED');
    // One silence, changed: no second one was made.
    const { silences } = await gql(server.url, server.viewerToken, '{ silences { id comment } }');
    expect(silences.filter((s: { comment: string }) => s.comment.startsWith('deploy '))).toEqual([{ id: silence.id, comment: 'deploy b instead' }]);
  });

  it('moves an active silence to a later start: it is pending and its alert unmuted until then', async () => {
    const { agent } = await firingAlert('edit-later');
    const silence = await create({ matchers: [{ name: 'environment', value: 'edit-later' }], comment: 'now', endsAt: inHours(1) });
    expect(silence.active).toBe(true);
    const startsAt = inHours(1);
    const res = await update(server.adminToken, silence.id, { matchers: silence.matchers.map(({ name, value }: { name: string; value: string }) => ({ name, value })), comment: 'later', startsAt, endsAt: inHours(2) });
    expect(res.body.data.updateSilence).toMatchObject({ active: false, startsAt });
    expect((await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING']))[0].silenced).toBe(false);
  });

  it('turns a one-off silence into a weekly maintenance window', async () => {
    const silence = await create({ matchers: [{ name: 'environment', value: 'edit-window' }], comment: 'one-off', endsAt: inHours(1) });
    const res = await update(server.adminToken, silence.id, { matchers: [{ name: 'environment', value: 'edit-window' }], comment: 'nightly', schedule: { days: [1, 3], start: '22:00', end: '02:00', timezone: 'Europe/Berlin' } });
    expect(res.body.data.updateSilence).toMatchObject({ id: silence.id, endsAt: null, schedule: { days: [1, 3], start: '22:00', end: '02:00', timezone: 'Europe/Berlin' } });
  });

  it('refuses a silence that has ended with a field error on id, names bad fields, and answers NOT_FOUND for an unknown id', async () => {
    const silence = await create({ matchers: [{ name: 'environment', value: 'edit-ended' }], comment: 'short', endsAt: inHours(1) });
    await gql(server.url, server.adminToken, 'mutation($id: ID!) { expireSilence(id: $id) { id } }', { id: silence.id });
    const ended = await update(server.adminToken, silence.id, { matchers: [{ name: 'environment', value: 'edit-ended' }], comment: 'again', endsAt: inHours(2) });
    expectFields(ended, 'BAD_USER_INPUT', ['id']);
    expect(ended.body.errors![0].extensions!.fields!.id).toMatch(/has ended/);

    const live = await create({ matchers: [{ name: 'environment', value: 'edit-bad' }], comment: 'live', endsAt: inHours(1) });
    const bad = await update(server.adminToken, live.id, { matchers: [{ name: 'bad name', value: 'x' }], comment: '', startsAt: inHours(2), endsAt: inHours(1) });
    expectFields(bad, 'BAD_USER_INPUT', ['matchers.0.name', 'comment', 'endsAt']);
    const unchanged = (await gql(server.url, server.viewerToken, '{ silences { id comment } }')).silences.find((s: { id: string }) => s.id === live.id);
    expect(unchanged.comment).toBe('live');

    const missing = await update(server.adminToken, '00000000-0000-4000-8000-000000000000', { matchers: [{ name: 'a', value: 'b' }], comment: 'x', endsAt: inHours(1) });
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('is for admins only: a viewer is refused and nothing changes', async () => {
    const silence = await create({ matchers: [{ name: 'environment', value: 'edit-viewer' }], comment: 'admin made', endsAt: inHours(1) });
    const res = await update(server.viewerToken, silence.id, { matchers: [{ name: 'environment', value: 'x' }], comment: 'viewer', endsAt: inHours(1) });
    expect(res.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const kept = (await gql(server.url, server.viewerToken, '{ silences { id comment } }')).silences.find((s: { id: string }) => s.id === silence.id);
    expect(kept.comment).toBe('admin made');
  });
});

describe("an agent's tags as silences see them", () => {
  const tags = (verb: 'add' | 'remove', agentId: string, list: string[]) =>
    gql(server.url, server.adminToken, `mutation($id: ID!, $t: [String!]!) { ${verb}AgentTags(agentId: $id, tags: $t) { id } }`, { id: agentId, t: list });
  const firing = async (agentId: string) => (await alertsOf(server.url, server.viewerToken, agentId, ['FIRING']))[0];

  it('mutes an alert already firing when its agent is tagged into a silence, and unmutes it when the tag goes', async () => {
    const silence = await create({ matchers: [{ name: 'tag', value: 'maintenance-now' }], comment: 'tagged agents are being worked on', endsAt: inHours(1) });
    const { agent, alert } = await firingAlert('tag-later');
    expect((await firing(agent.id)).silencedBy).toEqual([]);

    await tags('add', agent.id, ['maintenance-now']);
    await waitFor(async () => (await firing(agent.id)).silencedBy.includes(silence.id), { what: 'the alert muted by the tag' });
    await tags('remove', agent.id, ['maintenance-now']);
    await waitFor(async () => (await firing(agent.id)).silencedBy.length === 0, { what: 'the alert unmuted without the tag' });

    const steps = (await timeline(alert.id)).map((e) => e.type);
    expect(steps.slice(steps.indexOf('FIRING'))).toEqual(['FIRING', 'SILENCED', 'UNSILENCED']);
    const { alert: read } = await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { state agent { tags } } }', { id: alert.id });
    expect(read).toEqual({ state: 'FIRING', agent: { tags: [] } });
  });
});

describe('an edit of a rule', () => {
  it('reaches the alerts it has open: their name, severity, labels and summary, and the silences that match them', async () => {
    const environment = 'rule-edit';
    const input = (over: Record<string, unknown>) => ({ name: 'edited rule', kind: 'AGENT_STATUS', severity: 'WARNING', scope: { environment }, labels: { team: 'a' }, summary: '{{rule.severity}} for {{labels.team}}', ...over });
    const { rule } = await createRule(server.url, server.adminToken, input({}));
    const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'rule-edit-agent', environment, heartbeat_interval_seconds: 1 });
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    expect(alert).toMatchObject({ severity: 'WARNING', summary: 'warning for a' });
    const silence = await create({ matchers: [{ name: 'team', value: 'b' }, { name: 'severity', value: 'critical' }], comment: 'team b pages are handled', endsAt: inHours(1) });
    expect((await firing(agent.id, alert.id)).silencedBy).toEqual([]);

    await gql(server.url, server.adminToken, 'mutation($id: ID!, $i: AlertRuleInput!) { updateAlertRule(id: $id, input: $i) { rule { id } } }', {
      id: rule.id,
      i: input({ name: 'edited rule, renamed', severity: 'CRITICAL', labels: { team: 'b' } }),
    });
    const after = await waitFor(async () => {
      const a = await firing(agent.id, alert.id);
      return a.severity === 'CRITICAL' && a;
    }, { what: 'the open alert to take the edit' });
    expect(after).toMatchObject({ id: alert.id, ruleName: 'edited rule, renamed', summary: 'critical for b', silencedBy: [silence.id] });
    const { alert: read } = await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { labels } }', { id: alert.id });
    expect(read.labels).toEqual({ team: 'b' });
  });

  const firing = async (agentId: string, id: string) => (await alertsOf(server.url, server.viewerToken, agentId, ['FIRING'])).find((a: { id: string }) => a.id === id);
});

