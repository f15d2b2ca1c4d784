import { render, waitFor } from '@testing-library/svelte';
import FleetPage from '../../dashboard/src/components/fleet/FleetPage.svelte';
import { Router } from '../../dashboard/src/lib/router.svelte';
import { Session } from '../../dashboard/src/lib/session.svelte';
import type { FleetAgent } from '../../dashboard/src/lib/types';
import { FakeClient } from './fake-client';
import Harness from './Harness.svelte';
import { inGroup, type GroupBy } from '../../shared/agent-groups';

type GroupFilter = { by: { field?: string; metadataKey?: string }; key: string | null };
/** The API's AgentGroupBy in the shared (server) spelling. */
const groupBy = (by: GroupFilter['by']): GroupBy =>
  by.metadataKey !== undefined ? { metadataKey: by.metadataKey } : { field: by.field!.toLowerCase() as 'environment' | 'type' | 'tag' };
const countsOf = (list: FleetAgent[]) => ({
  online: list.filter((a) => a.status === 'ONLINE').length,
  degraded: list.filter((a) => a.status === 'DEGRADED').length,
  offline: list.filter((a) => a.status === 'OFFLINE').length,
  total: list.length,
});

/** The fleet page over a fake server that answers its queries from `agents`. */
export function row(a: FleetAgent) {
  return { ...a, health: 'HEALTHY', heartbeatIntervalSeconds: 30, __typename: 'Agent' };
}

/** `inactive`: ids the fake server counts as inactive, left out where a filter says `inactive: false`. */
export function setup(agents: FleetAgent[], inactive: ReadonlySet<string> = new Set()) {
  const shown = (v: Record<string, unknown>) => {
    const hide = (v as { inactive?: boolean } | undefined)?.inactive === false;
    return agents.filter((a) => !hide || !inactive.has(a.id));
  };
  const client = new FakeClient()
    .answer('FleetPage', (v) => {
      const filter = (v.filter ?? {}) as { status?: string[]; group?: GroupFilter };
      const nodes = shown(filter)
        .filter((a) => !filter.status || filter.status.includes(a.status))
        .filter((a) => !filter.group || inGroup(a, groupBy(filter.group.by), filter.group.key))
        .map(row);
      const edges = nodes.map((node) => ({ cursor: `c-${node.id}`, node }));
      return { agents: { edges, pageInfo: { hasNextPage: false, endCursor: null }, totalCount: nodes.length } };
    })
    .answer('FleetSummary', (v) => {
      const counted = shown((v.countsFilter ?? {}) as Record<string, unknown>);
      return {
        agentStatusCounts: {
          online: counted.filter((a) => a.status === 'ONLINE').length,
          degraded: counted.filter((a) => a.status === 'DEGRADED').length,
          offline: counted.filter((a) => a.status === 'OFFLINE').length,
          total: counted.length,
          inactive: inactive.size,
        },
        agents: { totalCount: counted.length },
      };
    })
    .answer('FleetGroups', (v) => {
      const by = groupBy(v.by as GroupFilter['by']);
      const list = shown((v.filter ?? {}) as Record<string, unknown>);
      const keys = (a: FleetAgent): (string | null)[] =>
        'metadataKey' in by ? [typeof a.metadata === 'object' && a.metadata && by.metadataKey in a.metadata ? String((a.metadata as Record<string, unknown>)[by.metadataKey]) : null]
          : by.field === 'tag' ? (a.tags.length ? [...a.tags] : [null])
            : [by.field === 'type' ? a.type : a.environment];
      const all = [...new Set(list.flatMap(keys))];
      return { agentGroups: all.map((key) => ({ key, counts: countsOf(list.filter((a) => inGroup(a, by, key))) })) };
    })
    .answer('LatestCursor', () => ({ agentEventLog: [{ cursor: '41' }] }))
    .answer('Facets', () => ({ agentFacets: { types: ['web-server'], environments: ['production'], tags: [] } }));
  const router = new Router();
  const session = new Session();
  const view = render(Harness, { client: client.asClient(), router, session, page: FleetPage });
  return { client, router, session, view };
}

export const rowOf = (id: string) => document.querySelector<HTMLElement>(`tr[data-agent-id="${id}"]`);

/** Waits until the row is on screen; waitFor only retries on a throw, not on null. */
export async function findRow(id: string): Promise<HTMLElement> {
  return waitFor(() => {
    const r = rowOf(id);
    if (!r) throw new Error(`row ${id} not rendered`);
    return r;
  });
}
