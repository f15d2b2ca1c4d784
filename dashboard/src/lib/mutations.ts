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
    mutation SetConfiguration($agentId: ID!, $key: String!, $value: JSON!, $ifRevision: Int) {
      setAgentConfiguration(agentId: $agentId, key: $key, value: $value, ifRevision: $ifRevision) {
        ...AgentDetailFields
      }
    }
  `,
  [AgentDetailFields],
);

export const DeleteConfigurationMutation = graphql(
  `
    mutation DeleteConfiguration($agentId: ID!, $key: String!, $ifRevision: Int) {
      deleteAgentConfiguration(agentId: $agentId, key: $key, ifRevision: $ifRevision) {
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

/** Bulk actions on the fleet page (admins): what a selection holds, then the change. */
export const SelectionPreviewQuery = graphql(`
  query SelectionPreview($filter: AgentFilter!, $first: Int!) {
    agentSelectionPreview(filter: $filter, first: $first) {
      count
      agents {
        id
        name
      }
    }
  }
`);

export const BulkAddTagsMutation = graphql(`
  mutation BulkAddTags($filter: AgentFilter!, $tags: [String!]!) {
    bulkAddAgentTags(filter: $filter, tags: $tags) {
      selected
      changed
    }
  }
`);

export const BulkRemoveTagsMutation = graphql(`
  mutation BulkRemoveTags($filter: AgentFilter!, $tags: [String!]!) {
    bulkRemoveAgentTags(filter: $filter, tags: $tags) {
      selected
      changed
    }
  }
`);

export const BulkDeregisterMutation = graphql(`
  mutation BulkDeregister($filter: AgentFilter!) {
    bulkDeregisterAgents(filter: $filter) {
      selected
      changed
    }
  }
`);
