import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kind, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as alertDocuments from '../../dashboard/src/lib/alert-documents';
import * as documents from '../../dashboard/src/lib/documents';
import * as fleetDocuments from '../../dashboard/src/lib/fleet-documents';
import * as keyDocuments from '../../dashboard/src/lib/key-documents';
import { MAX_WATCHED } from '../../dashboard/src/lib/fleet-live';
import * as metricDocuments from '../../dashboard/src/lib/metric-documents';
import * as mutations from '../../dashboard/src/lib/mutations';
import * as notificationDocuments from '../../dashboard/src/lib/notification-documents';
import * as silenceDocuments from '../../dashboard/src/lib/silence-documents';
import { graphql } from '../helpers/client';
import { pushRest } from '../helpers/metrics';
import { heartbeatRest, registerAgent, subscribeWs, waitFor, wsClient, type Agent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Every GraphQL document the dashboard sends, sent through the server's doors with the
 * largest variables the dashboard uses (500-row pages, 500 watched agents, 50 events),
 * under the default limits: none may be refused.
 */
let server: TestServer;
let agent: Agent;
let victim: Agent;
let bulkVictim: Agent;
let firstCursor: string;
/** An alert, a rule, a silence, a channel and one of its deliveries, for the alert pages' documents. */
const ids = { alert: '', alertCursor: '', rule: '', spareRule: '', silence: '', spareSilence: '', channel: '', spareChannel: '', policy: '', sparePolicy: '', delivery: '', key: '' };

beforeAll(async () => {
  server = await startTestServer();
  agent = await registerAgent(server.url, server.enrollmentToken, { name: 'dashboard-docs', tags: ['a'] });
  victim = await registerAgent(server.url, server.enrollmentToken, { name: 'dashboard-docs-deregistered' });
  bulkVictim = await registerAgent(server.url, server.enrollmentToken, { name: 'dashboard-docs-bulk-deregistered' });
  expect((await heartbeatRest(server.url, agent.id, agent.token)).status).toBe(200);
  const log = await graphql(server.url, server.viewerToken, '{ agentEventLog(last: 50) { cursor } }');
  firstCursor = log.body.data.agentEventLog[0].cursor;

  // An agent that goes offline, so that the built-in rule fires an alert for it.
  const silent = await registerAgent(server.url, server.enrollmentToken, { name: 'dashboard-docs-silent', heartbeat_interval_seconds: 1 });
  const admin = (query: string, variables?: Record<string, unknown>) => graphql(server.url, server.adminToken, query, variables);
  ids.alert = await waitFor(async () => (await admin(`{ agent(id: "${silent.id}") { alerts { id } } }`)).body.data.agent.alerts[0]?.id as string | undefined, { what: 'an alert' });
  ids.alertCursor = (await admin(`{ alert(id: "${ids.alert}") { timeline { cursor } } }`)).body.data.alert.timeline[0].cursor;
  ids.rule = (await admin('{ alertRules { id } }')).body.data.alertRules[0].id;
  const spare = await admin('mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { rule { id } } }', { i: { name: 'docs spare', kind: 'AGENT_STATUS' } });
  ids.spareRule = spare.body.data.createAlertRule.rule.id;
  const silence = await admin('mutation($input: SilenceInput!) { createSilence(input: $input) { id } }', {
    input: { comment: 'docs', matchers: [{ name: 'alertname', value: 'none' }], endsAt: new Date(Date.now() + 3_600_000).toISOString() },
  });
  ids.silence = silence.body.data.createSilence.id;
  const spareSilence = await admin('mutation($input: SilenceInput!) { createSilence(input: $input) { id } }', {
    input: { comment: 'docs spare', matchers: [{ name: 'alertname', value: 'none' }], endsAt: new Date(Date.now() + 3_600_000).toISOString() },
  });
  ids.spareSilence = spareSilence.body.data.createSilence.id;
  const channel = await admin('mutation($input: NotificationChannelInput!) { createNotificationChannel(input: $input) { channel { id } } }', {
    input: { name: 'docs', url: 'http://127.0.0.1:9/hook' },
  });
  ids.channel = channel.body.data.createNotificationChannel.channel.id;
  const spareChannel = await admin('mutation { createNotificationChannel(input: { name: "docs spare", url: "http://127.0.0.1:9/spare" }) { channel { id } } }');
  ids.spareChannel = spareChannel.body.data.createNotificationChannel.channel.id;
  for (const key of ['policy', 'sparePolicy'] as const) {
    const policy = await admin('mutation($input: NotificationPolicyInput!) { createNotificationPolicy(input: $input) { id } }', { input: { name: `docs ${key}`, channelIds: [ids.channel] } });
    ids[key] = policy.body.data.createNotificationPolicy.id;
  }
  await admin('mutation($id: ID!) { testNotificationChannel(id: $id) { result { ok } } }', { id: ids.channel });
  ids.key = (await admin('mutation { createApiKey(input: { name: "docs", role: VIEWER }) { key { id } } }')).body.data.createApiKey.key.id;
  ids.delivery = await waitFor(async () => (await admin('{ notificationChannels { deliveries(limit: 1) { id } } }')).body.data.notificationChannels[0]?.deliveries[0]?.id as string | undefined, { what: 'a delivery' });
}, 60_000);
afterAll(() => server?.close());

const filter = { status: ['ONLINE', 'DEGRADED'], type: 'api_agent', environment: 'production', tags: ['a'], search: 'dash' };
const watched = () => [agent.id, ...Array.from({ length: MAX_WATCHED - 1 }, () => randomUUID())];

/** The variables each operation is sent with: the largest the dashboard sends. */
const VARIABLES: Record<string, () => Record<string, unknown>> = {
  Viewer: () => ({}),
  FleetPage: () => ({ filter, orderBy: { field: 'LAST_HEARTBEAT', direction: 'DESC' }, first: 500, after: null }),
  FleetSummary: () => ({ countsFilter: filter, listFilter: filter }),
  // A grouped fleet page: the counts per group, and one group's list (the untagged agents).
  FleetGroups: () => ({ by: { metadataKey: 'region' }, filter: { ...filter, group: { by: { field: 'TAG' }, key: null } } }),
  Facets: () => ({}),
  AgentPage: () => ({ id: agent.id, last: 50 }),
  Agent: () => ({ id: agent.id }),
  LatestCursor: () => ({}),
  // The status timeline reads back a week of events 500 at a time.
  AgentEventLog: () => ({ id: agent.id, before: null, last: 500 }),
  FleetAvailability: () => ({}),
  FleetAlertChanged: () => ({}),
  FleetEvents: () => ({ after: firstCursor }),
  AgentEvents: () => ({ after: firstCursor }),
  AgentHeartbeats: () => ({ agentIds: watched() }),
  AgentPageHeartbeats: () => ({ agentIds: watched() }),
  AddTags: () => ({ agentId: agent.id, tags: ['b', 'c'] }),
  RemoveTags: () => ({ agentId: agent.id, tags: ['b'] }),
  SetConfiguration: () => ({ agentId: agent.id, key: 'k', value: { nested: [1, 2, 3] } }),
  DeleteConfiguration: () => ({ agentId: agent.id, key: 'k' }),
  Deregister: () => ({ id: victim.id }),
  // The fleet's bulk bar: the whole current filter, or the rows picked.
  SelectionPreview: () => ({ filter: { search: 'dashboard-docs', inactive: false }, first: 10 }),
  BulkAddTags: () => ({ filter: { ids: [agent.id] }, tags: ['b', 'c'] }),
  BulkRemoveTags: () => ({ filter: { ids: [agent.id] }, tags: ['b'] }),
  BulkDeregister: () => ({ filter: { ids: [bulkVictim.id] } }),
  AgentMetrics: () => ({ id: agent.id, from: new Date(Date.now() - 7 * 86_400_000).toISOString(), to: new Date().toISOString() }),
  AgentMetricsLive: () => ({ id: agent.id }),
  MetricNames: () => ({}),
  // The fleet column asks for sparklines of up to 200 agents at once (and for latest values only of more).
  FleetMetric: () => ({ agentIds: [agent.id, ...Array.from({ length: 199 }, () => randomUUID())], name: 'cpu_percent', sparkline: true }),
  Alerts: () => ({ filter: { state: ['FIRING', 'PENDING'] }, first: 500 }),
  AlertChanged: () => ({ filter: {} }),
  AlertCounts: () => ({}),
  Acknowledge: () => ({ id: ids.alert, comment: 'looking' }),
  Unacknowledge: () => ({ id: ids.alert }),
  SilenceAlert: () => ({ id: ids.alert, durationSeconds: 3600, comment: 'maintenance' }),
  AgentAlerts: () => ({ id: agent.id }),
  AlertDetail: () => ({ id: ids.alert }),
  AlertDeliveries: () => ({ id: ids.alert }),
  // Resumed from the alert's first step, so the replay is its first result.
  AlertDetailChanged: () => ({ filter: {}, after: ids.alertCursor }),
  AlertRules: () => ({}),
  PreviewRule: () => ({ input: { name: 'preview', kind: 'AGENT_STATUS', condition: { statuses: ['OFFLINE'] } } }),
  CreateRule: () => ({ input: { name: `rule-${randomUUID()}`, kind: 'AGENT_STATUS', condition: { statuses: ['DEGRADED'] }, forSeconds: 60 } }),
  UpdateRule: () => ({ id: ids.rule, input: { name: 'Agent offline', kind: 'AGENT_STATUS', condition: { statuses: ['OFFLINE'] } } }),
  DeleteRule: () => ({ id: ids.spareRule }),
  Silences: () => ({}),
  CreateSilence: () => ({ input: { comment: 'docs', matchers: [{ name: 'severity', value: 'info' }], endsAt: new Date(Date.now() + 3_600_000).toISOString() } }),
  UpdateSilence: () => ({ id: ids.spareSilence, input: { comment: 'docs edited', matchers: [{ name: 'alertname', value: 'none' }], startsAt: new Date(Date.now() + 3_600_000).toISOString(), endsAt: new Date(Date.now() + 7_200_000).toISOString() } }),
  ExpireSilence: () => ({ id: ids.silence }),
  Channels: () => ({}),
  CreateChannel: () => ({ input: { name: `channel-${randomUUID()}`, url: 'http://127.0.0.1:9/other' } }),
  UpdateChannel: () => ({ id: ids.channel, input: { name: 'docs', url: 'http://127.0.0.1:9/hook', format: 'SLACK', enabled: true } }),
  DeleteChannel: () => ({ id: ids.spareChannel }),
  CreatePolicy: () => ({
    input: { name: `policy-${randomUUID()}`, channelIds: [ids.channel], matchers: [{ name: 'environment', op: 'NE', value: 'dev' }], groupBy: ['alertname'], groupWaitSeconds: 1, repeatIntervalSeconds: 3600, enabled: true },
  }),
  UpdatePolicy: () => ({ id: ids.policy, input: { name: 'docs policy', channelIds: [ids.channel], matchers: [], groupBy: [], groupWaitSeconds: 0, repeatIntervalSeconds: 0, enabled: false } }),
  DeletePolicy: () => ({ id: ids.sparePolicy }),
  TestChannel: () => ({ id: ids.channel }),
  Redeliver: () => ({ id: ids.delivery }),
  ApiKeys: () => ({ includeRevoked: true }),
  CreateApiKey: () => ({
    input: { name: `key-${randomUUID()}`, role: 'ENROLLMENT', expiresAt: new Date(Date.now() + 86_400_000).toISOString(), defaultTags: ['a', 'b'], defaultEnvironment: 'production' },
  }),
  RevokeApiKey: () => ({ id: ids.key }),
  RotateSecret: () => ({ id: ids.channel }),
};

/** Queries only an admin sends (the rule editor's preview, API keys, the bulk bar's preview). */
const ADMIN_ONLY = new Set(['PreviewRule', 'ApiKeys', 'SelectionPreview']);

const operations = Object.values({ ...documents, ...fleetDocuments, ...metricDocuments, ...alertDocuments, ...notificationDocuments, ...silenceDocuments, ...keyDocuments, ...mutations }).flatMap((value) => {
  const doc = value as DocumentNode;
  const op = doc?.kind === Kind.DOCUMENT ? doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION) : undefined;
  return op ? [{ name: op.name!.value, kind: op.operation, text: print(doc) }] : [];
});

describe('the dashboard’s GraphQL documents', () => {
  it('are all in the lib/ document files, each with variables here', () => {
    const root = fileURLToPath(new URL('../../dashboard/src', import.meta.url));
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ts|svelte)$/.test(f) && /\bgraphql\(\s*`/.test(readFileSync(path.join(root, f), 'utf8')))
      .map((f) => f.replaceAll(path.sep, '/'))
      .sort();
    expect(files).toEqual(['lib/alert-documents.ts', 'lib/documents.ts', 'lib/fleet-documents.ts', 'lib/key-documents.ts', 'lib/metric-documents.ts', 'lib/mutations.ts', 'lib/notification-documents.ts', 'lib/silence-documents.ts']);
    expect(operations.length).toBeGreaterThanOrEqual(21);
    expect(operations.map((o) => o.name).filter((n) => !VARIABLES[n])).toEqual([]);
  });

  it('deliver each subscription’s first result over graphql-ws with the viewer token', async () => {
    const client = wsClient(server.url, server.viewerToken);
    try {
      for (const op of operations.filter((o) => o.kind === 'subscription')) {
        const sub = subscribeWs(client, op.text, VARIABLES[op.name]());
        // A metric subscription pushes new samples only: send one, until one arrives.
        if (op.name === 'AgentMetricsLive') await waitFor(async () => (await pushRest(server.url, agent.id, agent.token, [{ name: 'cpu_percent', value: 1 }])).status < 300 && sub.items.length > 0, { interval: 200 });
        // Alert changes are pushed as they happen: acknowledge the alert, until one arrives.
        if (op.name === 'AlertChanged' || op.name === 'FleetAlertChanged') {
          await waitFor(async () => {
            await graphql(server.url, server.adminToken, 'mutation($id: ID!) { acknowledgeAlert(id: $id) { id } }', { id: ids.alert });
            await graphql(server.url, server.adminToken, 'mutation($id: ID!) { unacknowledgeAlert(id: $id) { id } }', { id: ids.alert });
            return sub.items.length > 0;
          }, { interval: 200 });
        }
        await sub.until((items) => items.length > 0);
        expect(sub.errors, op.name).toEqual([]);
        sub.dispose();
      }
    } finally {
      await client.dispose();
    }
  });

  it('are each answered without an error, queries and mutations over HTTP with the admin token', async () => {
    for (const op of operations.filter((o) => o.kind !== 'subscription')) {
      const res = await graphql(server.url, server.adminToken, op.text, VARIABLES[op.name]());
      expect(res.status, op.name).toBe(200);
      expect(res.body.errors, `${op.name}: ${JSON.stringify(res.body.errors)}`).toBeUndefined();
    }
  });

  it('are each answered without an error, queries with the viewer token too (but those of admin-only pages)', async () => {
    for (const op of operations.filter((o) => o.kind === 'query' && !ADMIN_ONLY.has(o.name))) {
      const res = await graphql(server.url, server.viewerToken, op.text, VARIABLES[op.name]());
      expect(res.body.errors, `${op.name}: ${JSON.stringify(res.body.errors)}`).toBeUndefined();
    }
  });

});
