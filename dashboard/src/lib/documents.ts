import { graphql, type ResultOf } from './graphql';

/** What a fleet row shows; also the snapshot each live event carries for the list. */
export const AgentRowFields = graphql(`
  fragment AgentRowFields on Agent {
    id
    name
    type
    host
    port
    environment
    status
    health
    healthMessage
    tags
    metadata
    heartbeatIntervalSeconds
    lastHeartbeat
    offlineAt
    createdAt
    statusChangedAt
  }
`);

export const AgentDetailFields = graphql(
  `
    fragment AgentDetailFields on Agent {
      ...AgentRowFields
      configuration {
        key
        value
        updatedAt
        revision
      }
      configurationRevision
      updatedAt
      deregisteredAt
    }
  `,
  [AgentRowFields],
);

/** One accepted heartbeat, for the agent page's strip. */
export const HeartbeatFields = graphql(`
  fragment HeartbeatFields on Heartbeat {
    at
    health
  }
`);

export const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      role
    }
  }
`);

export const FleetPageQuery = graphql(
  `
    query FleetPage($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {
      agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
        edges {
          cursor
          node {
            ...AgentRowFields
            recentHeartbeats {
              at
              health
            }
            alerts {
              id
              state
              severity
            }
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
        totalCount
      }
    }
  `,
  [AgentRowFields],
);

/** Alert changes, as small as a fleet row's alert marker needs them. */
export const FleetAlertChangedSubscription = graphql(`
  subscription FleetAlertChanged {
    alertChanged {
      alert {
        id
        agentId
        state
        severity
      }
    }
  }
`);

export const FleetEventsSubscription = graphql(
  `
    subscription FleetEvents($after: String) {
      agentEvents(after: $after) {
        cursor
        type
        agentId
        previousStatus
        status
        agent {
          ...AgentRowFields
        }
      }
    }
  `,
  [AgentRowFields],
);

export const AgentEventFields = graphql(`
  fragment AgentEventFields on AgentEvent {
    cursor
    type
    agentId
    at
    previousStatus
    status
    reason
    data
    actor
  }
`);

export const AgentPageQuery = graphql(
  `
    query AgentPage($id: ID!, $last: Int) {
      agent(id: $id, includeDeregistered: true) {
        ...AgentDetailFields
        recentHeartbeats {
          ...HeartbeatFields
        }
      }
      agentEventLog(agentId: $id, last: $last) {
        ...AgentEventFields
      }
    }
  `,
  [AgentDetailFields, AgentEventFields, HeartbeatFields],
);

export const AgentQuery = graphql(
  `
    query Agent($id: ID!) {
      agent(id: $id) {
        ...AgentDetailFields
        recentHeartbeats {
          ...HeartbeatFields
        }
      }
    }
  `,
  [AgentDetailFields, HeartbeatFields],
);

/** The newest event id overall: where a subscription for one agent resumes cheaply. */
export const LatestCursorQuery = graphql(`
  query LatestCursor {
    agentEventLog(last: 1) {
      cursor
    }
  }
`);

export const AgentEventLogQuery = graphql(
  `
    query AgentEventLog($id: ID!, $before: String, $last: Int) {
      agentEventLog(agentId: $id, before: $before, last: $last) {
        ...AgentEventFields
      }
    }
  `,
  [AgentEventFields],
);

export const AgentEventsSubscription = graphql(
  `
    subscription AgentEvents($after: String) {
      agentEvents(after: $after) {
        ...AgentEventFields
        agent {
          ...AgentDetailFields
        }
      }
    }
  `,
  [AgentEventFields, AgentDetailFields],
);

/** What a pushed heartbeat carries of its agent: the fields a row and the agent page merge in. */
export const HeartbeatLivenessFields = graphql(`
  fragment HeartbeatLivenessFields on Agent {
    id
    status
    health
    healthMessage
    lastHeartbeat
    offlineAt
    statusChangedAt
  }
`);

/**
 * Heartbeats of some agents, pushed about once a second, each with the agent's liveness
 * fields as they are now. The first push is each agent's current state (its latest
 * heartbeat), which may be one the client already has.
 */
export const AgentHeartbeatsSubscription = graphql(
  `
    subscription AgentHeartbeats($agentIds: [ID!]!) {
      agentHeartbeats(agentIds: $agentIds) {
        heartbeats {
          at
          health
          agent {
            ...HeartbeatLivenessFields
          }
        }
      }
    }
  `,
  [HeartbeatLivenessFields],
);

/**
 * The same feed for the agent page, with the agent's recent heartbeats: the strip takes
 * them from every push, so a heartbeat it was never pushed (say, while the stream was
 * down) fills in from the next push.
 */
export const AgentPageHeartbeatsSubscription = graphql(
  `
    subscription AgentPageHeartbeats($agentIds: [ID!]!) {
      agentHeartbeats(agentIds: $agentIds) {
        heartbeats {
          at
          health
          agent {
            ...HeartbeatLivenessFields
            recentHeartbeats {
              ...HeartbeatFields
            }
          }
        }
      }
    }
  `,
  [HeartbeatLivenessFields, HeartbeatFields],
);

export type AgentRow = ResultOf<typeof AgentRowFields>;
export type AgentDetail = ResultOf<typeof AgentDetailFields>;
export type AgentEventEntry = ResultOf<typeof AgentEventFields>;
export type Heartbeat = ResultOf<typeof HeartbeatFields>;
export type PushedHeartbeat = ResultOf<typeof AgentHeartbeatsSubscription>['agentHeartbeats']['heartbeats'][number];
export type Role = ResultOf<typeof ViewerQuery>['viewer']['role'];
