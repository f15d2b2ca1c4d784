import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERT_FIELDS, alertIn, alertsOf, createRule, expectFields, gql } from '../helpers/alerts';
import { graphql, request } from '../helpers/client';
import { heartbeatRest, registerAgent, subscribeWs, waitFor, wsClient } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The alert lifecycle through the public doors: the built-in "Agent offline" rule fires
 * for an agent that stops, the alert is acknowledged, silenced, resolved when the agent
 * is back, and every step is in the log, the subscription and REST.
 */
let server: TestServer;
let ws: Client;
beforeAll(async () => {
  server = await startTestServer({ env: { SWEEP_INTERVAL_MS: '50', ALERT_TICK_MS: '100', ALERT_EVAL_INTERVAL_MS: '200', LOG_LEVEL: process.env.ALERT_TEST_LOG ?? 'silent' } });
  ws = wsClient(server.url, server.viewerToken);
});
afterAll(async () => {
  await ws?.dispose();
  await server?.close();
});

let counter = 0;
/** An agent with a 1 s interval: offline 3 s after its last heartbeat. */
const quickAgent = (fields: Record<string, unknown> = {}) =>
  registerAgent(server.url, server.enrollmentToken, { name: `alert-${++counter}`, heartbeat_interval_seconds: 1, ...fields });

describe('the built-in Agent offline rule', () => {
  it('exists on a first start: enabled, agent_status OFFLINE for 0 s, critical, and cannot be deleted', async () => {
    const { alertRules } = await gql(server.url, server.viewerToken, '{ alertRules { id name kind condition forSeconds severity enabled builtin } }');
    const builtin = alertRules.find((r: any) => r.builtin);
    expect(builtin).toMatchObject({ name: 'Agent offline', kind: 'AGENT_STATUS', condition: { statuses: ['offline'] }, forSeconds: 0, severity: 'CRITICAL', enabled: true });
    const res = await graphql(server.url, server.adminToken, 'mutation($id: ID!) { deleteAlertRule(id: $id) }', { id: builtin.id });
    expectFields(res, 'BAD_USER_INPUT', ['id']);
  });

  it('fires within a second of the agent going offline, with its summary, live on alertChanged; resolves when it is back', async () => {
    const agent = await quickAgent();
    const feed = subscribeWs(ws, `subscription($f: AlertFilter) { alertChanged(filter: $f) { cursor type reason alert { ${ALERT_FIELDS} } at } }`, { f: { agentId: agent.id } });
    const offline = await waitFor(async () => {
      const r = await gql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { status } agentEventLog(agentId: $id, last: 5) { type status at } }', { id: agent.id });
      return r.agent.status === 'OFFLINE' && r.agentEventLog.find((e: any) => e.status === 'OFFLINE');
    }, { timeout: 10_000, what: 'the agent to go offline' });
    const [fired] = await feed.until((items) => items.some((e) => e.type === 'FIRING'));
    expect(fired.alert).toMatchObject({ state: 'FIRING', severity: 'CRITICAL', ruleName: 'Agent offline', summary: `alert-${counter} is offline`, agent: { status: 'OFFLINE' } });
    expect(Date.parse(fired.at) - Date.parse(offline.at)).toBeLessThan(1000);

    const rest = await request(`${server.url}/api/v1/alerts`, { token: server.viewerToken });
    expect(rest.status).toBe(200);
    expect(rest.body.find((a: any) => a.labels.agent_id === agent.id)).toMatchObject({ labels: { alertname: 'Agent offline', severity: 'critical' }, status: { state: 'active' } });

    expect((await heartbeatRest(server.url, agent.id, agent.token)).status).toBe(200);
    const items = await feed.until((list) => list.some((e) => e.type === 'RESOLVED'));
    expect(items.map((e) => e.type)).toEqual(['FIRING', 'RESOLVED']);
    expect(items[1].alert).toMatchObject({ state: 'RESOLVED', resolveReason: 'the condition cleared' });
    feed.dispose();
  });

  it('opens a new episode when the agent goes offline again, and never two open ones', async () => {
    const agent = await quickAgent();
    const first = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING');
    await heartbeatRest(server.url, agent.id, agent.token);
    await alertIn(server.url, server.viewerToken, agent.id, 'RESOLVED');
    const second = await waitFor(async () => (await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING']))[0], { what: 'a second episode' });
    expect(second.id).not.toBe(first.id);
    expect(await alertsOf(server.url, server.viewerToken, agent.id)).toHaveLength(2);
  });
});

describe('acknowledging and silencing', () => {
  it('acknowledges with a comment and who did it, kept until it resolves; a viewer may not, an agent token sees nothing', async () => {
    const agent = await quickAgent();
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING');
    const viewer = await graphql(server.url, server.viewerToken, 'mutation($id: ID!) { acknowledgeAlert(id: $id) { id } }', { id: alert.id });
    expect(viewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const asAgent = await graphql(server.url, agent.token, '{ alerts { totalCount } }');
    expect(asAgent.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await request(`${server.url}/api/v1/alerts`, { token: agent.token })).status).toBe(403);

    const acked = await gql(server.url, server.adminToken, `mutation($id: ID!) { acknowledgeAlert(id: $id, comment: "on it", by: "ana") { ${ALERT_FIELDS} timeline { type by comment } } }`, { id: alert.id });
    expect(acked.acknowledgeAlert).toMatchObject({ acknowledged: true, acknowledgement: { by: 'ana', comment: 'on it' } });
    expect(acked.acknowledgeAlert.timeline.map((e: any) => e.type)).toEqual(['FIRING', 'ACKNOWLEDGED']);
    const un = await gql(server.url, server.adminToken, `mutation($id: ID!) { unacknowledgeAlert(id: $id) { acknowledged } }`, { id: alert.id });
    expect(un.unacknowledgeAlert.acknowledged).toBe(false);
    await heartbeatRest(server.url, agent.id, agent.token);
    await alertIn(server.url, server.viewerToken, agent.id, 'RESOLVED');
    const late = await graphql(server.url, server.adminToken, 'mutation($id: ID!) { acknowledgeAlert(id: $id) { id } }', { id: alert.id });
    expectFields(late, 'BAD_USER_INPUT', ['id']);
  });

  it('silences an alert in one step: it stays, shows as silenced and counts apart; expiring the silence unmutes it', async () => {
    const agent = await quickAgent();
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING');
    const before = (await gql(server.url, server.viewerToken, '{ alertCounts { firing { critical total } silenced } }')).alertCounts;
    const silence = (await gql(server.url, server.adminToken, 'mutation($id: ID!) { silenceAlert(id: $id, durationSeconds: 3600, comment: "maintenance") { id active endsAt matchers { name value } } }', { id: alert.id })).silenceAlert;
    expect(silence).toMatchObject({ active: true, matchers: [{ name: 'alertname', value: 'Agent offline' }, { name: 'agent_id', value: agent.id }] });
    const [muted] = await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING']);
    expect(muted).toMatchObject({ silenced: true, silencedBy: [silence.id] });
    const after = (await gql(server.url, server.viewerToken, '{ alertCounts { firing { critical total } silenced } }')).alertCounts;
    expect(after.silenced).toBe(before.silenced + 1);
    expect(after.firing.critical).toBe(before.firing.critical - 1);
    await gql(server.url, server.adminToken, 'mutation($id: ID!) { expireSilence(id: $id) { id } }', { id: silence.id });
    const [back] = await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING']);
    expect(back.silenced).toBe(false);
  });

  it('refuses a silence without matchers, end or comment, and a maintenance window with a bad schedule, naming each field', async () => {
    const res = await graphql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id } }', { i: { matchers: [], comment: '' } });
    expectFields(res, 'BAD_USER_INPUT', ['matchers', 'endsAt', 'comment']);
    const window = await graphql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id } }', {
      i: { matchers: [{ name: 'environment', value: 'staging' }], comment: 'nightly', schedule: { days: [7], start: '25:00', end: '02:00', timezone: 'Mars/Olympus' } },
    });
    expectFields(window, 'BAD_USER_INPUT', ['schedule.days', 'schedule.start', 'schedule.timezone']);
  });

  it('mutes by a weekly maintenance window in its time zone only while it is open', async () => {
    const agent = await quickAgent({ environment: 'maint' });
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING');
    const day = new Date().getUTCDay();
    // One window open now (all day today, UTC), one that is not (tomorrow only).
    const open = (await gql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id active } }', {
      i: { matchers: [{ name: 'environment', value: 'maint' }], comment: 'today', schedule: { days: [day], start: '00:00', end: '23:59', timezone: 'UTC' } },
    })).createSilence;
    const closed = (await gql(server.url, server.adminToken, 'mutation($i: SilenceInput!) { createSilence(input: $i) { id active } }', {
      i: { matchers: [{ name: 'environment', value: 'maint' }], comment: 'tomorrow', schedule: { days: [(day + 1) % 7], start: '00:00', end: '23:59', timezone: 'UTC' } },
    })).createSilence;
    expect(open.active).toBe(new Date().getUTCHours() * 60 + new Date().getUTCMinutes() < 23 * 60 + 59);
    expect(closed.active).toBe(false);
    const [muted] = await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING']);
    expect(muted.silencedBy).toEqual(open.active ? [open.id] : []);
    expect(muted.id).toBe(alert.id);
  });
});

describe('rules', () => {
  it('refuses a bad rule with each field named: negative durations, an unknown kind, a template that does not parse', async () => {
    const res = await graphql(server.url, server.adminToken, 'mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { rule { id } } }', {
      i: { name: 'bad', kind: 'METRIC_THRESHOLD', forSeconds: -5, keepFiringForSeconds: -1, condition: { metric: 'cpu percent' }, summary: '{{agent.nme}} is {{value}', labels: { 'bad-name': 'x' } },
    });
    expectFields(res, 'BAD_USER_INPUT', ['forSeconds', 'keepFiringForSeconds', 'condition.metric', 'condition.threshold', 'condition.op', 'summary', 'labels.bad-name']);
    const kind = await graphql(server.url, server.adminToken, 'mutation { createAlertRule(input: { name: "x", kind: NOPE }) { rule { id } } }');
    expect(kind.status).toBe(400);
    const viewer = await graphql(server.url, server.viewerToken, 'mutation { createAlertRule(input: { name: "x", kind: AGENT_STATUS }) { rule { id } } }');
    expect(viewer.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('previews a rule: the agents its scope matches now and those it would fire for; an empty scope is allowed but reported', async () => {
    const a = await quickAgent({ environment: 'preview', tags: ['edge'] });
    await quickAgent({ environment: 'preview' });
    await alertIn(server.url, server.viewerToken, a.id, 'FIRING');
    const preview = await gql(server.url, server.adminToken, 'query($i: AlertRuleInput!) { previewAlertRule(input: $i) { matchingAgents wouldFire firing warnings } }', {
      i: { name: 'p', kind: 'AGENT_STATUS', scope: { environment: 'preview', tags: ['edge'] }, condition: { statuses: ['OFFLINE'] } },
    });
    expect(preview.previewAlertRule).toMatchObject({ matchingAgents: 1, wouldFire: 1, firing: [`alert-${counter - 1}`], warnings: [] });
    const saved = await createRule(server.url, server.adminToken, { name: 'nobody', kind: 'AGENT_STATUS', scope: { environment: 'nowhere' } });
    expect(saved.warnings).toEqual(['the scope matches no agent now']);
  });

  it('fires a status rule made while agents are already offline, waits out `for` as PENDING, and stops when disabled', async () => {
    const agent = await quickAgent({ environment: 'late-rule' });
    await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', 'Agent offline');
    const input = { name: 'late-rule offline 1 s', kind: 'AGENT_STATUS', scope: { environment: 'late-rule' }, forSeconds: 1, severity: 'WARNING', summary: '{{agent.name}} down ({{agent.environment}})' };
    const { rule } = await createRule(server.url, server.adminToken, input);
    const pending = await alertIn(server.url, server.viewerToken, agent.id, 'PENDING', rule.name);
    const firing = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    expect(firing.id).toBe(pending.id);
    expect(firing).toMatchObject({ severity: 'WARNING', summary: `alert-${counter} down (late-rule)` });
    expect(Date.parse(firing.firedAt) - Date.parse(firing.startedAt)).toBeGreaterThanOrEqual(1000);
    await gql(server.url, server.adminToken, 'mutation($id: ID!, $i: AlertRuleInput!) { updateAlertRule(id: $id, input: $i) { rule { enabled } } }', { id: rule.id, i: { ...input, enabled: false } });
    const resolved = await alertIn(server.url, server.viewerToken, agent.id, 'RESOLVED', rule.name);
    expect(resolved.resolveReason).toBe('the rule was disabled');
  });

  it('keeps firing for keep_firing_for after the condition clears, and resolves only then', async () => {
    const agent = await quickAgent({ environment: 'keep' });
    const { rule } = await createRule(server.url, server.adminToken, { name: 'keep 2 s', kind: 'AGENT_STATUS', scope: { environment: 'keep' }, keepFiringForSeconds: 2 });
    await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    const back = Date.now();
    await heartbeatRest(server.url, agent.id, agent.token);
    const resolved = await alertIn(server.url, server.viewerToken, agent.id, 'RESOLVED', rule.name);
    expect(Date.now() - back).toBeGreaterThanOrEqual(1900);
    expect(resolved.resolveReason).toBe('the condition cleared');
  });

  it('fires a metric threshold rule on an aggregate over its window, with the value in its summary, and resolves when it drops', async () => {
    const agent = await quickAgent({ environment: 'metrics', heartbeat_interval_seconds: 3600 });
    const push = (value: number) => request(`${server.url}/api/v1/agents/${agent.id}/metrics`, { token: agent.token, json: { metrics: [{ name: 'cpu_percent', value }] } });
    const { rule } = await createRule(server.url, server.adminToken, {
      name: 'cpu high',
      kind: 'METRIC_THRESHOLD',
      scope: { environment: 'metrics' },
      // A window long enough for the first evaluation to find the sample on a busy machine.
      condition: { metric: 'cpu_percent', aggregate: 'MAX', windowSeconds: 6, op: 'GT', threshold: 90 },
      summary: '{{agent.name}} CPU {{value}}%',
    });
    expect((await push(95.5)).status).toBe(200);
    const firing = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    expect(firing).toMatchObject({ value: 95.5, summary: `alert-${counter} CPU 95.5%` });
    // The high sample leaves the window; a low one keeps the series present.
    await new Promise((r) => setTimeout(r, 6100));
    await push(10);
    await alertIn(server.url, server.viewerToken, agent.id, 'RESOLVED', rule.name);
  });

  it('fires a metric_absent rule when an agent stops pushing a metric it pushed', async () => {
    const agent = await quickAgent({ environment: 'absent', heartbeat_interval_seconds: 3600 });
    await request(`${server.url}/api/v1/agents/${agent.id}/metrics`, { token: agent.token, json: { metrics: [{ name: 'queue_depth', value: 3 }] } });
    const { rule } = await createRule(server.url, server.adminToken, { name: 'queue silent', kind: 'METRIC_ABSENT', scope: { environment: 'absent' }, condition: { metric: 'queue_depth', absentSeconds: 1 } });
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    expect(alert.summary).toBe(`alert-${counter} stopped sending queue_depth`);
  });

  it('fires a flapping rule after N status changes within its window', async () => {
    const agent = await quickAgent({ environment: 'flappy', heartbeat_interval_seconds: 3600 });
    const { rule } = await createRule(server.url, server.adminToken, { name: 'flapping', kind: 'FLAPPING', scope: { environment: 'flappy' }, condition: { changes: 3, windowSeconds: 60 } });
    for (const status of ['degraded', 'healthy', 'degraded']) await heartbeatRest(server.url, agent.id, agent.token, { health: { status } });
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    expect(alert.value).toBe(3);
  });
});

describe('reading alerts', () => {
  it('pages the connection in order (firing first, by severity, newest first) with a total, and shows open alerts on the agent', async () => {
    const all = await gql(server.url, server.viewerToken, `{ alerts(first: 500) { totalCount nodes { id state severity startedAt } } }`);
    const nodes = all.alerts.nodes;
    expect(all.alerts.totalCount).toBe(nodes.length);
    const rank = (a: any) => [['FIRING', 'PENDING', 'RESOLVED'].indexOf(a.state), ['CRITICAL', 'WARNING', 'INFO'].indexOf(a.severity), -Date.parse(a.startedAt)];
    for (let i = 1; i < nodes.length; i++) {
      const [x, y] = [rank(nodes[i - 1]), rank(nodes[i])];
      expect(x[0] < y[0] || (x[0] === y[0] && (x[1] < y[1] || (x[1] === y[1] && x[2] <= y[2])))).toBe(true);
    }
    const ids: string[] = [];
    let after: string | null = null;
    do {
      const page: any = (await gql(server.url, server.viewerToken, 'query($a: String) { alerts(first: 3, after: $a) { nodes { id } pageInfo { hasNextPage endCursor } } }', { a: after })).alerts;
      ids.push(...page.nodes.map((n: any) => n.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(ids).toEqual(nodes.map((n: any) => n.id));
    const firing = nodes.find((n: any) => n.state === 'FIRING');
    const detail = await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { agentId timeline { type } rule { name } } }', { id: firing.id });
    const agent = await gql(server.url, server.viewerToken, 'query($id: ID!) { agent(id: $id) { alerts { id state } } }', { id: detail.alert.agentId });
    expect(agent.agent.alerts.map((a: any) => a.id)).toContain(firing.id);
    const bad = await graphql(server.url, server.viewerToken, '{ alerts(after: "nonsense") { totalCount } }');
    expectFields(bad, 'BAD_USER_INPUT', ['after']);
  });

  it('resumes alertChanged from a cursor with every later change, then live', async () => {
    const agent = await quickAgent();
    // From the agent's registration on (one log, one kind of cursor), so a FIRING that
    // comes before the subscription is live on a slow machine is replayed, not missed.
    const log = await gql(server.url, server.viewerToken, 'query($id: ID) { agentEventLog(agentId: $id, last: 1) { cursor } }', { id: agent.id });
    const first = subscribeWs(ws, 'subscription($f: AlertFilter, $a: String) { alertChanged(filter: $f, after: $a) { cursor type } }', { f: { agentId: agent.id }, a: log.agentEventLog[0].cursor });
    await first.until((items) => items.some((e) => e.type === 'FIRING'));
    const cursor = first.items.find((e) => e.type === 'FIRING')!.cursor;
    first.dispose();
    await heartbeatRest(server.url, agent.id, agent.token);
    await alertIn(server.url, server.viewerToken, agent.id, 'RESOLVED');
    const resumed = subscribeWs(ws, 'subscription($f: AlertFilter, $a: String) { alertChanged(filter: $f, after: $a) { cursor type } }', { f: { agentId: agent.id }, a: cursor });
    const items = await resumed.until((list) => list.some((e) => e.type === 'RESOLVED'));
    expect(items.map((e) => e.type)).toEqual(['RESOLVED']);
    resumed.dispose();
  });
});
