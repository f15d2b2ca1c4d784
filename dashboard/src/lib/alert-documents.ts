import { graphql, type ResultOf } from './graphql';
import { DeliveryFields } from './notification-documents';

export const AlertFields = graphql(`
  fragment AlertFields on Alert {
    id
    state
    severity
    ruleName
    summary
    value
    startedAt
    firedAt
    resolvedAt
    acknowledged
    acknowledgement {
      by
      at
      comment
    }
    silenced
    flapping
    agent {
      id
      name
      environment
    }
  }
`);
export type AlertRow = ResultOf<typeof AlertFields>;

export const AlertsQuery = graphql(
  `
    query Alerts($filter: AlertFilter, $first: Int) {
      alerts(filter: $filter, first: $first) {
        totalCount
        nodes {
          ...AlertFields
        }
      }
    }
  `,
  [AlertFields],
);

export const AlertChangedSubscription = graphql(
  `
    subscription AlertChanged($filter: AlertFilter) {
      alertChanged(filter: $filter) {
        cursor
        type
        alert {
          ...AlertFields
        }
      }
    }
  `,
  [AlertFields],
);

export const AlertCountsQuery = graphql(`
  query AlertCounts {
    alertCounts {
      firing {
        critical
        warning
        info
        total
      }
      silenced
    }
  }
`);
export type AlertCounts = ResultOf<typeof AlertCountsQuery>['alertCounts'];

export const AcknowledgeMutation = graphql(
  `
    mutation Acknowledge($id: ID!, $comment: String) {
      acknowledgeAlert(id: $id, comment: $comment) {
        ...AlertFields
      }
    }
  `,
  [AlertFields],
);

export const UnacknowledgeMutation = graphql(
  `
    mutation Unacknowledge($id: ID!) {
      unacknowledgeAlert(id: $id) {
        ...AlertFields
      }
    }
  `,
  [AlertFields],
);

export const SilenceAlertMutation = graphql(`
  mutation SilenceAlert($id: ID!, $durationSeconds: Int!, $comment: String) {
    silenceAlert(id: $id, durationSeconds: $durationSeconds, comment: $comment) {
      id
      endsAt
    }
  }
`);

export const AgentAlertsQuery = graphql(
  `
    query AgentAlerts($id: ID!) {
      agent(id: $id) {
        id
        alerts {
          ...AlertFields
        }
      }
    }
  `,
  [AlertFields],
);

export const RulesQuery = graphql(`
  query AlertRules {
    alertRules {
      id
      name
      kind
      severity
      enabled
      builtin
      forSeconds
      consecutive
      keepFiringForSeconds
      labels
      summary
      description
      scope
      condition
    }
  }
`);

export const PreviewRuleQuery = graphql(`
  query PreviewRule($input: AlertRuleInput!) {
    previewAlertRule(input: $input) {
      matchingAgents
      wouldFire
      firing
      warnings
    }
  }
`);

export const CreateRuleMutation = graphql(`
  mutation CreateRule($input: AlertRuleInput!) {
    createAlertRule(input: $input) {
      rule {
        id
      }
      warnings
    }
  }
`);

export const UpdateRuleMutation = graphql(`
  mutation UpdateRule($id: ID!, $input: AlertRuleInput!) {
    updateAlertRule(id: $id, input: $input) {
      rule {
        id
      }
    }
  }
`);

export const DeleteRuleMutation = graphql(`
  mutation DeleteRule($id: ID!) {
    deleteAlertRule(id: $id)
  }
`);

export const AlertDetailFields = graphql(
  `
    fragment AlertDetailFields on Alert {
      ...AlertFields
      ruleId
      description
      labels
      clearingSince
      resolveReason
      silencedBy
      agent {
        id
        type
        host
        port
        status
      }
    }
  `,
  [AlertFields],
);
export type AlertDetailRow = ResultOf<typeof AlertDetailFields>;

export const AlertTimelineFields = graphql(`
  fragment AlertTimelineFields on AlertEvent {
    cursor
    type
    by
    comment
    reason
    at
  }
`);
export type AlertTimelineEntry = ResultOf<typeof AlertTimelineFields>;

export const AlertDetailQuery = graphql(
  `
    query AlertDetail($id: ID!) {
      alert(id: $id) {
        ...AlertDetailFields
        timeline {
          ...AlertTimelineFields
        }
        deliveries {
          ...DeliveryFields
        }
      }
    }
  `,
  [AlertDetailFields, AlertTimelineFields, DeliveryFields],
);

export const AlertDeliveriesQuery = graphql(
  `
    query AlertDeliveries($id: ID!) {
      alert(id: $id) {
        id
        deliveries {
          ...DeliveryFields
        }
      }
    }
  `,
  [DeliveryFields],
);

export const AlertDetailChanged = graphql(
  `
    subscription AlertDetailChanged($filter: AlertFilter, $after: String) {
      alertChanged(filter: $filter, after: $after) {
        ...AlertTimelineFields
        alert {
          ...AlertDetailFields
        }
      }
    }
  `,
  [AlertTimelineFields, AlertDetailFields],
);
