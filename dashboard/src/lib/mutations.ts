import { graphql } from './graphql';
import { AgentDetailFields } from './documents';

/** The admin's edits on the agent page; each answers with the agent as it now is. */
export const AddTagsMutation = graphql(
  `
    mutation AddTags($agentId: ID!, $tags: [String!]!) {
      addAgentTags(agentId: $agentId, tags: $tags) {
        ...AgentDetailFields
      }
    }
  `,
  [AgentDetailFields],
);

export const RemoveTagsMutation = graphql(
  `
    mutation RemoveTags($agentId: ID!, $tags: [String!]!) {
      removeAgentTags(agentId: $agentId, tags: $tags) {
        ...AgentDetailFields
      }
    }
  `,
  [AgentDetailFields],
);

export const SetConfigurationMutation = graphql(
  `
    mutation SetConfiguration($agentId: ID!, $key: String!, $value: JSON!) {
      setAgentConfiguration(agentId: $agentId, key: $key, value: $value) {
        ...AgentDetailFields
      }
    }
  `,
  [AgentDetailFields],
);

export const DeleteConfigurationMutation = graphql(
  `
    mutation DeleteConfiguration($agentId: ID!, $key: String!) {
      deleteAgentConfiguration(agentId: $agentId, key: $key) {
        ...AgentDetailFields
      }
    }
  `,
  [AgentDetailFields],
);

export const DeregisterMutation = graphql(`
  mutation Deregister($id: ID!) {
    deregisterAgent(id: $id) {
      id
    }
  }
`);
