import { graphql, type ResultOf } from './graphql';

export const AgentMetricsQuery = graphql(`
  query AgentMetrics($id: ID!, $from: DateTime, $to: DateTime) {
    agent(id: $id) {
      id
      metrics(from: $from, to: $to) {
        resolution
        stepSeconds
        from
        to
        series {
          name
          labels
          kind
          pointUnit
          points {
            at
            value
          }
        }
      }
    }
  }
`);

export const AgentMetricsSubscription = graphql(`
  subscription AgentMetricsLive($id: ID!) {
    agentMetrics(agentId: $id) {
      agentId
      samples {
        name
        labels
        kind
        at
        value
      }
    }
  }
`);

export const MetricNamesQuery = graphql(`
  query MetricNames {
    metricNames {
      name
      unit
      kind
    }
  }
`);

export const FleetMetricQuery = graphql(`
  query FleetMetric($agentIds: [ID!]!, $name: String!, $sparkline: Boolean) {
    fleetMetric(agentIds: $agentIds, name: $name, sparkline: $sparkline) {
      agentId
      unit
      latest
      at
      sparkline {
        at
        value
      }
    }
  }
`);

export type MetricRangeResult = NonNullable<ResultOf<typeof AgentMetricsQuery>['agent']>['metrics'];
export type FleetMetricEntry = ResultOf<typeof FleetMetricQuery>['fleetMetric'][number];
