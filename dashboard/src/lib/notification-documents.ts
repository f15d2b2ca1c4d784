import { graphql, type ResultOf } from './graphql';

/** Channels, their delivery log, and the policies that route alerts to them. */

export const DeliveryFields = graphql(`
  fragment DeliveryFields on Delivery {
    id
    webhookId
    status
    test
    alertCount
    attemptCount
    createdAt
    deliveredAt
    nextAttemptAt
    channel {
      id
      name
    }
    attempts {
      at
      durationMs
      statusCode
      errorClass
      error
    }
  }
`);
export type Delivery = ResultOf<typeof DeliveryFields>;


export const ChannelFields = graphql(
  `
    fragment ChannelFields on NotificationChannel {
      id
      name
      url
      format
      enabled
      disabledReason
      secretRotatedUntil
      deliveries(limit: 20) {
        ...DeliveryFields
      }
    }
  `,
  [DeliveryFields],
);
export type Channel = ResultOf<typeof ChannelFields>;

export const PolicyFields = graphql(`
  fragment PolicyFields on NotificationPolicy {
    id
    name
    enabled
    channelIds
    groupBy
    groupWaitSeconds
    repeatIntervalSeconds
    matchers {
      name
      op
      value
    }
  }
`);
export type Policy = ResultOf<typeof PolicyFields>;

export const ChannelsQuery = graphql(
  `
    query Channels {
      notificationChannels {
        ...ChannelFields
      }
      notificationPolicies {
        ...PolicyFields
      }
    }
  `,
  [ChannelFields, PolicyFields],
);

export const CreateChannelMutation = graphql(`
  mutation CreateChannel($input: NotificationChannelInput!) {
    createNotificationChannel(input: $input) {
      channel {
        id
      }
      secret
    }
  }
`);

export const UpdateChannelMutation = graphql(`
  mutation UpdateChannel($id: ID!, $input: NotificationChannelInput!) {
    updateNotificationChannel(id: $id, input: $input) {
      id
      enabled
    }
  }
`);

export const DeleteChannelMutation = graphql(`
  mutation DeleteChannel($id: ID!) {
    deleteNotificationChannel(id: $id)
  }
`);

export const RotateSecretMutation = graphql(`
  mutation RotateSecret($id: ID!) {
    rotateNotificationChannelSecret(id: $id) {
      channel {
        id
        secretRotatedUntil
      }
      secret
    }
  }
`);

export const TestChannelMutation = graphql(`
  mutation TestChannel($id: ID!) {
    testNotificationChannel(id: $id) {
      result {
        ok
        statusCode
        errorClass
        error
      }
    }
  }
`);

export const RedeliverMutation = graphql(`
  mutation Redeliver($id: ID!) {
    redeliver(deliveryId: $id) {
      result {
        ok
        errorClass
      }
    }
  }
`);

export const CreatePolicyMutation = graphql(`
  mutation CreatePolicy($input: NotificationPolicyInput!) {
    createNotificationPolicy(input: $input) {
      id
    }
  }
`);

export const UpdatePolicyMutation = graphql(`
  mutation UpdatePolicy($id: ID!, $input: NotificationPolicyInput!) {
    updateNotificationPolicy(id: $id, input: $input) {
      id
    }
  }
`);

export const DeletePolicyMutation = graphql(`
  mutation DeletePolicy($id: ID!) {
    deleteNotificationPolicy(id: $id)
  }
`);
