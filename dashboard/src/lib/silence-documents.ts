import { graphql, type ResultOf } from './graphql';

/** Silences and maintenance windows. */

export const SilenceFields = graphql(`
  fragment SilenceFields on Silence {
    id
    active
    comment
    createdBy
    startsAt
    endsAt
    matchers {
      name
      op
      value
    }
    schedule {
      days
      start
      end
      timezone
    }
  }
`);
export type Silence = ResultOf<typeof SilenceFields>;

export const SilencesQuery = graphql(
  `
    query Silences {
      silences {
        ...SilenceFields
      }
    }
  `,
  [SilenceFields],
);

export const CreateSilenceMutation = graphql(`
  mutation CreateSilence($input: SilenceInput!) {
    createSilence(input: $input) {
      id
    }
  }
`);

export const UpdateSilenceMutation = graphql(`
  mutation UpdateSilence($id: ID!, $input: SilenceInput!) {
    updateSilence(id: $id, input: $input) {
      id
    }
  }
`);

export const ExpireSilenceMutation = graphql(`
  mutation ExpireSilence($id: ID!) {
    expireSilence(id: $id) {
      id
    }
  }
`);
