import { expect } from 'vitest';
import { graphql, type GraphQLBody, type JsonResponse } from './client';
import { waitFor } from './liveness';

export const ALERT_FIELDS = 'id state severity ruleName ruleId agentId summary value startedAt firedAt resolvedAt resolveReason acknowledged acknowledgement { by comment at } silenced silencedBy agent { name status }';

/** A GraphQL call that must succeed; returns its data. */
export async function gql<D = any>(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<D> {
  const res: JsonResponse<GraphQLBody<D>> = await graphql<D>(url, token, query, variables);
  if (res.body.errors) throw new Error(`GraphQL failed (${res.status}): ${JSON.stringify(res.body.errors)}`);
  return res.body.data as D;
}

/** The alerts of one agent, through the public connection. */
export async function alertsOf(url: string, token: string, agentId: string, state?: string[]) {
  const data = await gql(url, token, `query($f: AlertFilter) { alerts(filter: $f, first: 100) { totalCount nodes { ${ALERT_FIELDS} } } }`, { f: { agentId, ...(state ? { state } : {}) } });
  return data.alerts.nodes as any[];
}

/** Waits until the agent has an alert in `state` (of the rule named, if given) and returns it. */
export function alertIn(url: string, token: string, agentId: string, state: string, ruleName?: string, timeout = 15_000) {
  return waitFor(async () => (await alertsOf(url, token, agentId)).find((a) => a.state === state && (!ruleName || a.ruleName === ruleName)), { timeout, what: `a ${state} alert for ${agentId}` });
}

export async function createRule(url: string, token: string, input: Record<string, unknown>) {
  const data = await gql(url, token, 'mutation($i: AlertRuleInput!) { createAlertRule(input: $i) { rule { id name } warnings } }', { i: input });
  return data.createAlertRule as { rule: { id: string; name: string }; warnings: string[] };
}

/** A channel to `receiverUrl` and a policy that routes every alert matching `matchers` to it. */
export async function routeTo(url: string, token: string, receiverUrl: string, opts: { name: string; format?: string; matchers?: unknown[]; groupWaitSeconds?: number; repeatIntervalSeconds?: number }) {
  const data = await gql(url, token, 'mutation($i: NotificationChannelInput!) { createNotificationChannel(input: $i) { channel { id } secret } }', {
    i: { name: opts.name, url: receiverUrl, format: opts.format ?? 'JSON' },
  });
  const { channel, secret } = data.createNotificationChannel;
  await gql(url, token, 'mutation($i: NotificationPolicyInput!) { createNotificationPolicy(input: $i) { id } }', {
    i: { name: `${opts.name} policy`, channelIds: [channel.id], matchers: opts.matchers ?? [], groupWaitSeconds: opts.groupWaitSeconds ?? 0.2, repeatIntervalSeconds: opts.repeatIntervalSeconds ?? 0 },
  });
  return { channelId: channel.id as string, secret: secret as string };
}

export function expectFields(res: JsonResponse<GraphQLBody>, code: string, fields: string[]) {
  expect(res.body.errors?.[0]?.extensions?.code, JSON.stringify(res.body)).toBe(code);
  for (const f of fields) expect(Object.keys(res.body.errors![0].extensions!.fields ?? {}), JSON.stringify(res.body.errors)).toContain(f);
}
