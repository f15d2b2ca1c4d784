import { createHash } from 'node:crypto';
import { authorize } from '../auth/authenticator';
import { badInput } from '../errors';
import { sendLargeJson } from '../http/http';
import type { Route } from '../http/router';
import { alertLabels } from './labels';
import type { Alert } from './alerts.types';

/**
 * An alert in the shape of Alertmanager's `GET /api/v2/alerts`, so integrators' tools
 * read it with little change: labels, annotations, startsAt/endsAt, a fingerprint, and
 * a status whose state is `active` or `suppressed` (silenced), with `pending` for alerts
 * still waiting out their rule's `for` (which Alertmanager never sees).
 */
const toRestAlert = (a: Alert) => ({
  labels: alertLabels(a),
  annotations: { summary: a.summary, description: a.description, ...(a.value !== null ? { value: String(a.value) } : {}) },
  startsAt: (a.firedAt ?? a.startedAt).toISOString(),
  endsAt: (a.resolvedAt ?? new Date(0)).toISOString(),
  updatedAt: a.updatedAt.toISOString(),
  generatorURL: `/dashboard/alerts/${a.id}`,
  fingerprint: createHash('sha256').update(`${a.ruleId}:${a.agentId}`).digest('hex').slice(0, 16),
  receivers: [],
  status: { state: a.state === 'pending' ? 'pending' : a.silencedBy.length > 0 ? 'suppressed' : 'active', silencedBy: a.silencedBy, inhibitedBy: [] },
  id: a.id,
  acknowledged: a.acknowledgement !== null,
});

const FLAGS = new Map<string, boolean>([['true', true], ['1', true], ['false', false], ['0', false]]);

export const alertRoutes: Route[] = [
  {
    method: 'GET',
    path: /^\/api\/v1\/alerts\/?$/,
    handle: async ({ req, res, search, principal, services }) => {
      authorize(principal, 'read');
      const q = new URLSearchParams(search);
      // true/1 or false/0; anything else is refused rather than read as true.
      const flags: Record<string, boolean | undefined> = {};
      const fields: Record<string, string> = {};
      for (const name of ['silenced', 'acknowledged']) {
        const raw = q.get(name);
        if (raw === null) continue;
        const value = FLAGS.get(raw);
        if (value === undefined) fields[name] = 'must be true, false, 1 or 0';
        else flags[name] = value;
      }
      if (Object.keys(fields).length > 0) throw badInput(fields);
      const flag = (name: string) => flags[name];
      const out: Alert[] = [];
      let after: string | null = null;
      // Every open alert; a connection page at a time, so a large outage is still one answer.
      for (;;) {
        const page = await services.alerts.page(principal, { state: ['firing', 'pending'], silenced: flag('silenced'), acknowledged: flag('acknowledged') }, { first: 500, after });
        out.push(...page.edges.map((e) => e.node));
        if (!page.pageInfo.hasNextPage || out.length >= 20_000) break;
        after = page.pageInfo.endCursor;
      }
      await sendLargeJson(req, res, 200, out.map(toRestAlert));
    },
  },
];
