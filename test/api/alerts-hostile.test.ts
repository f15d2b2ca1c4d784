import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedTimezones, MAX_CACHED_TIMEZONES } from '../../api/alerts/silences';
import { alertIn, alertsOf, createRule, expectFields, gql, routeTo } from '../helpers/alerts';
import { graphql, inParallel, request, type GraphQLBody, type JsonResponse } from '../helpers/client';
import { pushRest } from '../helpers/metrics';
import { registerAgent, waitFor } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';
import { startReceiver } from '../helpers/webhooks';

/**
 * Alert rules, silences and notifications against what a careless or hostile admin, agent
 * or client can send (silences by the thousand: alerts-silences-mass.test.ts): silences of everything, names taken by
 * concurrent requests, text that Slack would read as mentions, labels named after
 * Object.prototype's members, concurrent secret rotations, delta series, bad query flags.
 */
const PUBLIC_URL = 'http://monitor.example';
let server: TestServer;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeAll(async () => {
  server = await startTestServer({
    env: { SWEEP_INTERVAL_MS: '50', ALERT_TICK_MS: '100', ALERT_EVAL_INTERVAL_MS: '200', WEBHOOK_POLL_MS: '50', PUBLIC_URL },
  });
  receiver = await startReceiver();
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

const inHours = (h: number) => new Date(Date.now() + h * 3_600_000).toISOString();
const SILENCE = 'id active createdBy matchers { name op value } schedule { days start end timezone }';
const createSilence = (input: Record<string, unknown>) => graphql(server.url, server.adminToken, `mutation($i: SilenceInput!) { createSilence(input: $i) { ${SILENCE} } }`, { i: input });
const mustCreateSilence = async (input: Record<string, unknown>) => (await gql(server.url, server.adminToken, `mutation($i: SilenceInput!) { createSilence(input: $i) { ${SILENCE} } }`, { i: input })).createSilence;

let counter = 0;
/** An agent that goes offline at once, and its firing "Agent offline" alert. */
async function firingAlert(environment: string, name = `hostile-${++counter}`) {
  const agent = await registerAgent(server.url, server.enrollmentToken, { name, environment, heartbeat_interval_seconds: 1 });
  return { agent, alert: await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', 'Agent offline') };
}

/** Exactly one of concurrent writes of one name succeeded; every other got the name's field error, none a 500. */
function oneWinner(results: JsonResponse<GraphQLBody>[], what: string) {
  // GraphQL answers a request whose only field failed on bad input with a 400; never a 500.
  for (const r of results) expect([200, 400], JSON.stringify(r.body)).toContain(r.status);
  const ok = results.filter((r) => !r.body.errors);
  const refused = results.filter((r) => r.body.errors);
  expect(ok, JSON.stringify(refused.map((r) => r.body.errors))).toHaveLength(1);
  for (const r of refused) {
    expectFields(r, 'BAD_USER_INPUT', ['name']);
    expect(r.body.errors![0].extensions!.fields!.name).toMatch(new RegExp(`a ${what} named ".*" exists already`));
  }
}

describe('a silence of everything', () => {
  const EVERYTHING = [
    [{ name: 'environment', op: 'EQ', value: '' }],
    [{ name: 'severity', op: 'NE', value: 'nope' }],
    [{ name: 'tag', op: 'NE', value: 'x' }, { name: 'alertname', op: 'EQ', value: '' }],
    [{ name: 'constructor', op: 'EQ', value: '' }],
  ];

  it('is refused, with the rule named on matchers, when every matcher matches the empty string; no alert is muted', async () => {
    const { agent } = await firingAlert('everything');
    for (const matchers of EVERYTHING) {
      const res = await createSilence({ matchers, comment: 'oops', endsAt: inHours(1) });
      expectFields(res, 'BAD_USER_INPUT', ['matchers']);
      expect(res.body.errors![0].extensions!.fields!.matchers).toMatch(/at least one matcher must not match the empty string/);
    }
    expect((await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING']))[0]).toMatchObject({ silenced: false, silencedBy: [] });
    const { silences } = await gql(server.url, server.viewerToken, '{ silences { id comment } }');
    expect(silences.filter((s: { comment: string }) => s.comment === 'oops')).toEqual([]);
  });

  it('refuses an update to such matchers and keeps the silence as it was', async () => {
    const silence = await mustCreateSilence({ matchers: [{ name: 'environment', value: 'everything-edit' }], comment: 'narrow', endsAt: inHours(1) });
    const res = await graphql(server.url, server.adminToken, 'mutation($id: ID!, $i: SilenceInput!) { updateSilence(id: $id, input: $i) { id } }', {
      id: silence.id,
      i: { matchers: [{ name: 'environment', op: 'NE', value: 'production' }], comment: 'wide', endsAt: inHours(1) },
    });
    expectFields(res, 'BAD_USER_INPUT', ['matchers']);
    const kept = (await gql(server.url, server.viewerToken, `{ silences { ${SILENCE} } }`)).silences.find((s: { id: string }) => s.id === silence.id);
    expect(kept.matchers).toEqual([{ name: 'environment', op: 'EQ', value: 'everything-edit' }]);
  });

  it('accepts matchers of which one needs a value: NE "" and a negative beside a positive', async () => {
    await mustCreateSilence({ matchers: [{ name: 'environment', op: 'NE', value: '' }, { name: 'alertname', value: 'never-such-rule' }], comment: 'ok 1', endsAt: inHours(1) });
    await mustCreateSilence({ matchers: [{ name: 'environment', op: 'NE', value: '' }], comment: 'ok 2', endsAt: inHours(1) }).then((s) =>
      gql(server.url, server.adminToken, 'mutation($id: ID!) { expireSilence(id: $id) { id } }', { id: s.id }),
    );
  });
});

describe('one name taken by concurrent requests', () => {
  const N = 6;

  it('renames of alert rules to one name: one wins, the others get the duplicate-name error, none a 500', async () => {
    for (let round = 0; round < 3; round++) {
      const rules = await Promise.all(Array.from({ length: N }, (_, i) => createRule(server.url, server.adminToken, { name: `race-rule-${round}-${i}`, kind: 'AGENT_STATUS', scope: { environment: 'nowhere' } })));
      const results = await Promise.all(
        rules.map(({ rule }) =>
          graphql(server.url, server.adminToken, 'mutation($id: ID!, $i: AlertRuleInput!) { updateAlertRule(id: $id, input: $i) { rule { id name } } }', {
            id: rule.id,
            i: { name: `race-rule-${round}`, kind: 'AGENT_STATUS', scope: { environment: 'nowhere' } },
          }),
        ),
      );
      oneWinner(results, 'rule');
      const names = (await gql(server.url, server.viewerToken, '{ alertRules { name } }')).alertRules.map((r: { name: string }) => r.name);
      expect(names.filter((n: string) => n === `race-rule-${round}`)).toHaveLength(1);
    }
  });

  it('creations of alert rules with one name: one wins, the others get the duplicate-name error', async () => {
    const results = await Promise.all(
      Array.from({ length: N }, () =>
        graphql(server.url, server.adminToken, 'mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { rule { id } } }', { i: { name: 'race-created-rule', kind: 'AGENT_STATUS', scope: { environment: 'nowhere' } } }),
      ),
    );
    oneWinner(results, 'rule');
  });

  it('renames and creations of notification channels to one name: one wins, the others get the duplicate-name error', async () => {
    for (let round = 0; round < 3; round++) {
      const ids = await Promise.all(
        Array.from({ length: N }, async (_, i) =>
          (await gql(server.url, server.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { channel { id } } }', { i: { name: `race-channel-${round}-${i}`, url: receiver.url } }))
            .createNotificationChannel.channel.id as string,
        ),
      );
      const results = await Promise.all(
        ids.map((id) => graphql(server.url, server.adminToken, 'mutation($id: ID!, $i: NotificationChannelInput!) { updateNotificationChannel(id: $id, input: $i) { id } }', { id, i: { name: `race-channel-${round}`, url: receiver.url } })),
      );
      oneWinner(results, 'channel');
    }
    const created = await Promise.all(
      Array.from({ length: N }, () => graphql(server.url, server.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { channel { id } } }', { i: { name: 'race-created-channel', url: receiver.url } })),
    );
    oneWinner(created, 'channel');
  });

  it('renames and creations of notification policies to one name: one wins, the others get the duplicate-name error', async () => {
    const channelId = (await gql(server.url, server.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { channel { id } } }', { i: { name: 'race-policy-target', url: receiver.url } }))
      .createNotificationChannel.channel.id;
    const input = (name: string) => ({ name, channelIds: [channelId], matchers: [{ name: 'environment', value: 'nowhere' }] });
    for (let round = 0; round < 3; round++) {
      const ids = await Promise.all(
        Array.from({ length: N }, async (_, i) =>
          (await gql(server.url, server.adminToken, 'mutation($i: NotificationPolicyInput!) { createNotificationPolicy(input: $i) { id } }', { i: input(`race-policy-${round}-${i}`) })).createNotificationPolicy.id as string,
        ),
      );
      const results = await Promise.all(
        ids.map((id) => graphql(server.url, server.adminToken, 'mutation($id: ID!, $i: NotificationPolicyInput!) { updateNotificationPolicy(id: $id, input: $i) { id } }', { id, i: input(`race-policy-${round}`) })),
      );
      oneWinner(results, 'policy');
    }
    const created = await Promise.all(
      Array.from({ length: N }, () => graphql(server.url, server.adminToken, 'mutation($i: NotificationPolicyInput!) { createNotificationPolicy(input: $i) { id } }', { i: input('race-created-policy') })),
    );
    oneWinner(created, 'policy');
  });
});

describe('Slack messages', () => {
  it('escape &, < and > in the text of agents, rules and channels, so nothing in it becomes a mention or a link', async () => {
    const environment = 'slack<b>&co';
    await routeTo(server.url, server.adminToken, receiver.urlFor('slack'), { name: '<!here> slack', format: 'SLACK', matchers: [{ name: 'environment', value: environment }] });
    const { rule } = await createRule(server.url, server.adminToken, {
      name: 'slack <!everyone> rule',
      kind: 'AGENT_STATUS',
      severity: 'CRITICAL',
      scope: { environment },
      summary: '{{agent.name}} is down <@U123|boss> & {{rule.name}}',
    });
    const { agent } = await firingAlert(environment, '<!channel> & <https://evil.example|click>');
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    const carries = (x: { path: string; json: any }) => x.path === '/slack' && String(x.json?.text).includes(alert.id);
    await receiver.until((r) => r.some(carries));
    const [message] = receiver.received.filter(carries);
    const text: string = message.json.text;
    const line = text.split('\n').find((l) => l.includes(alert.id))!;
    expect(line).toContain(`<${PUBLIC_URL}/dashboard/alerts/${alert.id}|`);
    expect(line).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt; is down &lt;@U123|boss&gt; &amp; slack &lt;!everyone&gt; rule');
    expect(line).toContain('(slack&lt;b&gt;&amp;co)');
    // The only < and > left are those of the link the server made.
    expect(line.match(/[<>]/g)).toEqual(['<', '>']);
    expect(text).not.toMatch(/<!(channel|here|everyone)>|<@U123/);

    const channelId = (await gql(server.url, server.viewerToken, '{ notificationChannels { id name } }')).notificationChannels.find((c: { name: string }) => c.name === '<!here> slack').id;
    const test = await gql(server.url, server.adminToken, 'mutation($id: ID!) { testNotificationChannel(id: $id) { deliveryId result { ok } } }', { id: channelId });
    expect(test.testNotificationChannel.result.ok).toBe(true);
    const sent = receiver.received.filter((r) => r.path === '/slack' && r.headers['webhook-id'] === `msg_${test.testNotificationChannel.deliveryId}`);
    expect(sent).toHaveLength(1);
    expect(sent[0].json.text).toContain('to &lt;!here&gt; slack');
    expect(sent[0].json.text).not.toContain('<!here>');
  });
});

describe('labels named after members of Object.prototype', () => {
  it('keeps a rule label named __proto__, and templates and matchers see only the labels themselves', async () => {
    const environment = 'proto-labels';
    const labels = JSON.parse('{"__proto__":"polluted","team":"core"}');
    const created = await gql(server.url, server.adminToken, 'mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { rule { id name labels } } }', {
      i: { name: 'proto labels', kind: 'AGENT_STATUS', scope: { environment }, labels, summary: '[{{labels.__proto__}}][{{labels.constructor}}][{{labels.toString}}][{{labels.hasOwnProperty}}][{{labels.team}}]' },
    });
    const rule = created.createAlertRule.rule;
    expect(Object.keys(rule.labels).sort()).toEqual(['__proto__', 'team']);
    expect(rule.labels.__proto__).toBe('polluted');

    const { agent } = await firingAlert(environment);
    const alert = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    expect(alert.summary).toBe('[polluted][][][][core]');
    const { alert: read } = await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { labels } }', { id: alert.id });
    expect(Object.hasOwn(read.labels, '__proto__') && read.labels.__proto__).toBe('polluted');

    // A label the alert lacks reads as "", whatever its name: `constructor != ""` does not hold.
    const none = await mustCreateSilence({ matchers: [{ name: 'constructor', op: 'NE', value: '' }, { name: 'environment', value: environment }], comment: 'not a label', endsAt: inHours(1) });
    const byProto = await mustCreateSilence({ matchers: [{ name: '__proto__', value: 'polluted' }], comment: 'proto label', endsAt: inHours(1) });
    const muted = (await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING'])).find((a) => a.id === alert.id);
    expect(muted.silencedBy).toEqual([byProto.id]);
    expect(muted.silencedBy).not.toContain(none.id);

    // The REST list shows the label too.
    const rest = await request(`${server.url}/api/v1/alerts`, { token: server.viewerToken });
    expect(rest.body.find((a: { id: string }) => a.id === alert.id).labels).toMatchObject({ ['__proto__']: 'polluted', team: 'core', alertname: 'proto labels' });
  });
});

describe('concurrent rotations of a webhook secret', () => {
  it('both take effect: after two at once, both new secrets sign and the original one no longer does', async () => {
    for (let round = 0; round < 3; round++) {
      const created = (await gql(server.url, server.adminToken, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { channel { id } secret } }', { i: { name: `rotate-${round}`, url: receiver.urlFor(`rotate-${round}`) } }))
        .createNotificationChannel;
      const rotate = () => gql(server.url, server.adminToken, 'mutation($id: ID!) { rotateNotificationChannelSecret(id: $id) { secret } }', { id: created.channel.id }).then((d) => d.rotateNotificationChannelSecret.secret as string);
      const secrets = await Promise.all([rotate(), rotate()]);
      expect(new Set(secrets).size).toBe(2);
      const test = await gql(server.url, server.adminToken, 'mutation($id: ID!) { testNotificationChannel(id: $id) { deliveryId result { ok } } }', { id: created.channel.id });
      const [sent] = receiver.received.filter((r) => r.headers['webhook-id'] === `msg_${test.testNotificationChannel.deliveryId}`);
      const verifies = (secret: string) => {
        try {
          new Webhook(secret).verify(sent.body, sent.headers as Record<string, string>);
          return true;
        } catch {
          return false;
        }
      };
      expect(String(sent.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(secrets.map(verifies), `round ${round}`).toEqual([true, true]);
      expect(verifies(created.secret)).toBe(false);
    }
  });
});

describe('RATE over a delta series', () => {
  it('is the sum of the deltas over the window’s seconds, as the metric queries read it, and fires on it', async () => {
    const environment = 'delta-rate';
    const agent = await registerAgent(server.url, server.enrollmentToken, { name: 'delta-agent', environment, heartbeat_interval_seconds: 3600 });
    const now = Date.now();
    // Six deltas of 30 in the last minute: 180 over a 60 s window, 3 per second.
    const samples = [50, 40, 30, 20, 10, 1].map((s) => ({ name: 'requests_delta', kind: 'delta', value: 30, at: new Date(now - s * 1000).toISOString() }));
    const pushed = await pushRest(server.url, agent.id, agent.token, samples);
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);
    const rule = (threshold: number) => ({ name: `delta rate ${threshold}`, kind: 'METRIC_THRESHOLD', scope: { environment }, condition: { metric: 'requests_delta', aggregate: 'RATE', windowSeconds: 60, op: 'GT', threshold }, summary: '{{value}}/s' });
    const preview = async (threshold: number) => (await gql(server.url, server.adminToken, 'query($i: AlertRuleInput!) { previewAlertRule(input: $i) { wouldFire warnings } }', { i: rule(threshold) })).previewAlertRule;
    expect(await preview(2.9)).toEqual({ wouldFire: 1, warnings: [] });
    expect((await preview(3.1)).wouldFire).toBe(0);

    const { rule: saved } = await createRule(server.url, server.adminToken, rule(2));
    const firing = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', saved.name);
    expect(firing.value).toBeCloseTo(3, 6);
    expect(firing.summary).toBe('3/s');
  });
});

describe('an alert nothing changes', () => {
  it('is not written again at every evaluation: its updatedAt stays while its agent, rule and value stay', async () => {
    const environment = 'steady-alert';
    const agent = await registerAgent(server.url, server.enrollmentToken, {
      name: 'steady-agent',
      environment,
      heartbeat_interval_seconds: 3600,
      tags: ['b-tag', 'a-tag'],
      metadata: { zone: 'z1', rack: { row: 4, slot: 'b' }, apple: true },
    });
    expect((await pushRest(server.url, agent.id, agent.token, [{ name: 'queue_depth', value: 7 }])).status).toBe(200);
    const { rule } = await createRule(server.url, server.adminToken, {
      name: 'steady rule', kind: 'METRIC_THRESHOLD', scope: { environment }, labels: { zz: '1', aa: '2' },
      condition: { metric: 'queue_depth', aggregate: 'LAST', windowSeconds: 600, op: 'GT', threshold: 5 },
    });
    const firing = await alertIn(server.url, server.viewerToken, agent.id, 'FIRING', rule.name);
    const updatedAt = async () => (await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { updatedAt } }', { id: firing.id })).alert.updatedAt as string;
    const before = await updatedAt();
    // Seven evaluation intervals (200 ms) with nothing new: there is no condition to wait for.
    await new Promise((r) => setTimeout(r, 1_400));
    expect(await updatedAt()).toBe(before);
  });
});

describe('smaller things', () => {
  it('silenceAlert names `by`, the argument given, when it is too long', async () => {
    const { alert } = await firingAlert('silence-by');
    const res = await graphql(server.url, server.adminToken, 'mutation($id: ID!, $by: String) { silenceAlert(id: $id, durationSeconds: 3600, by: $by) { id } }', { id: alert.id, by: 'x'.repeat(201) });
    expectFields(res, 'BAD_USER_INPUT', ['by']);
    expect(Object.keys(res.body.errors![0].extensions!.fields!)).not.toContain('createdBy');
    const ok = await gql(server.url, server.adminToken, 'mutation($id: ID!) { silenceAlert(id: $id, durationSeconds: 3600, by: "ops") { id createdBy } }', { id: alert.id });
    expect(ok.silenceAlert.createdBy).toBe('ops');
  });

  it('GET /api/v1/alerts reads silenced and acknowledged as true/1 or false/0, and refuses anything else with a 400', async () => {
    const muted = await firingAlert('rest-flags');
    const loud = await firingAlert('rest-flags');
    await gql(server.url, server.adminToken, 'mutation($id: ID!) { silenceAlert(id: $id, durationSeconds: 3600) { id } }', { id: muted.alert.id });
    const ids = async (query: string) => {
      const res = await request(`${server.url}/api/v1/alerts${query}`, { token: server.viewerToken });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body.map((a: { id: string }) => a.id) as string[];
    };
    for (const no of ['false', '0']) {
      const got = await ids(`?silenced=${no}`);
      expect(got).toContain(loud.alert.id);
      expect(got).not.toContain(muted.alert.id);
    }
    for (const yes of ['true', '1']) {
      const got = await ids(`?silenced=${yes}`);
      expect(got).toContain(muted.alert.id);
      expect(got).not.toContain(loud.alert.id);
    }
    expect(await ids('?acknowledged=0')).toContain(loud.alert.id);
    for (const bad of ['yes', '', 'False', '2']) {
      const res = await request(`${server.url}/api/v1/alerts?silenced=${bad}`, { token: server.viewerToken });
      expect(res.status, bad).toBe(400);
      expect(res.body.error.fields).toHaveProperty('silenced');
    }
    const res = await request(`${server.url}/api/v1/alerts?acknowledged=no`, { token: server.viewerToken });
    expect(res.status).toBe(400);
    expect(res.body.error.fields).toHaveProperty('acknowledged');
  });

  it('keeps a bounded cache of time-zone formatters, however many spellings of time zones windows name', async () => {
    // Intl takes a time zone in any letter case: every spelling is a zone of its own to a cache.
    const zone = 'America/Argentina/Buenos_Aires';
    const letters = [...zone].map((c, i) => [i, c] as const).filter(([, c]) => /[a-z]/i.test(c));
    const spelling = (n: number) => {
      const chars = [...zone];
      letters.forEach(([i, c], bit) => (chars[i] = (n >> bit) & 1 ? c.toUpperCase() : c.toLowerCase()));
      return chars.join('');
    };
    const count = MAX_CACHED_TIMEZONES * 2;
    const made = await inParallel(count, 4, (n) =>
      createSilence({ matchers: [{ name: 'environment', value: 'tz-cache' }], comment: `tz ${n}`, schedule: { days: [1], start: '01:00', end: '02:00', timezone: spelling(n) } }),
    );
    for (const r of made) expect(r.body.errors, JSON.stringify(r.body)).toBeUndefined();
    expect(new Set(made.map((r) => r.body.data.createSilence.schedule.timezone)).size).toBe(count);
    expect(cachedTimezones()).toBeLessThanOrEqual(MAX_CACHED_TIMEZONES);
    await inParallel(made.length, 4, (i) => gql(server.url, server.adminToken, 'mutation($id: ID!) { expireSilence(id: $id) { id } }', { id: made[i].body.data.createSilence.id }));
  });
});

describe('time windows', () => {
  it('takes a window whose start equals its end as 24 hours from the start: 00:00–00:00 is the whole day', async () => {
    const { agent } = await firingAlert('whole-day');
    const today = new Date().getUTCDay();
    const window = (days: number[], at: string) => ({ matchers: [{ name: 'environment', value: 'whole-day' }], comment: `window ${days} ${at}`, schedule: { days, start: at, end: at, timezone: 'UTC' } });
    const wholeToday = await mustCreateSilence(window([today], '00:00'));
    expect(wholeToday).toMatchObject({ active: true, schedule: { days: [today], start: '00:00', end: '00:00', timezone: 'UTC' } });
    const tomorrow = await mustCreateSilence(window([(today + 1) % 7], '00:00'));
    expect(tomorrow.active).toBe(false);
    const everyDay = await mustCreateSilence(window([0, 1, 2, 3, 4, 5, 6], '13:37'));
    expect(everyDay.active).toBe(true);
    const [alert] = await alertsOf(server.url, server.viewerToken, agent.id, ['FIRING']);
    expect([...alert.silencedBy].sort()).toEqual([wholeToday.id, everyDay.id].sort());
  });
});

describe('a long timeline', () => {
  it('says when Alert.timeline leaves out older steps, and holds the latest ones', async () => {
    const { alert } = await firingAlert('long-timeline');
    const short = await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { timelineTruncated timeline { type } } }', { id: alert.id });
    expect(short.alert.timelineTruncated).toBe(false);
    expect(short.alert.timeline.map((e: { type: string }) => e.type)).toContain('FIRING');
    for (let i = 0; i < 101; i++) {
      await gql(server.url, server.adminToken, 'mutation($id: ID!) { acknowledgeAlert(id: $id, comment: "ack") { id } }', { id: alert.id });
      await gql(server.url, server.adminToken, 'mutation($id: ID!) { unacknowledgeAlert(id: $id) { id } }', { id: alert.id });
    }
    const long = await waitFor(async () => {
      const d = await gql(server.url, server.viewerToken, 'query($id: ID!) { alert(id: $id) { timelineTruncated timeline { type } } }', { id: alert.id });
      return d.alert.timeline.at(-1)?.type === 'UNACKNOWLEDGED' && d.alert;
    });
    expect(long.timelineTruncated).toBe(true);
    expect(long.timeline).toHaveLength(200);
    // The latest steps: the episode's first ones are the ones left out.
    expect(long.timeline.map((e: { type: string }) => e.type)).not.toContain('FIRING');
  }, 60_000);
});
