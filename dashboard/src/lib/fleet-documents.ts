import { graphql } from './graphql';

/** The fleet page's counts, groups, facets and availability history: documents without fragments. */

export const FleetSummaryQuery = graphql(`
  query FleetSummary($countsFilter: AgentFilter, $listFilter: AgentFilter) {
    agentStatusCounts(filter: $countsFilter) {
      online
      degraded
      offline
      total
      inactive
    }
    agents(filter: $listFilter, first: 1) {
      totalCount
    }
  }
`);

export const FleetGroupsQuery = graphql(`
  query FleetGroups($by: AgentGroupBy!, $filter: AgentFilter) {
    agentGroups(by: $by, filter: $filter) {
      key
      counts {
        online
        degraded
        offline
        total
      }
    }
  }
`);

export const FacetsQuery = graphql(`
  query Facets {
    agentFacets {
      types
      environments
      tags
    }
  }
`);

/** Online / degraded / offline counts over time, for the chart above the fleet table. */
export const FleetAvailabilityQuery = graphql(`
  query FleetAvailability($from: DateTime, $to: DateTime, $stepSeconds: Int) {
    fleetAvailability(from: $from, to: $to, stepSeconds: $stepSeconds) {
      from
      to
      stepSeconds
      points {
        at
        online
        degraded
        offline
      }
    }
  }
`);
