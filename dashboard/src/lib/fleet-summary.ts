import type { Client } from '@urql/core';
import { FleetSummaryQuery } from './fleet-documents';
import { toAgentFilter, type FleetQuery } from './fleet-query';
import type { StatusCounts } from './fleet-reducer';

/** What the status cards show for a view: its counts by status (the view's filter but for status), and how many agents its list holds. */
export interface FleetSummary {
  counts: StatusCounts;
  totalCount: number;
}

/** Reads a view's summary from the server; null when the answer carries no data. */
export async function fetchSummary(client: Client, query: FleetQuery): Promise<FleetSummary | null> {
  const result = await client
    .query(FleetSummaryQuery, {
      countsFilter: toAgentFilter(query, { withStatus: false }),
      listFilter: toAgentFilter(query),
    })
    .toPromise();
  if (!result.data) return null;
  return { counts: result.data.agentStatusCounts, totalCount: result.data.agents.totalCount };
}
