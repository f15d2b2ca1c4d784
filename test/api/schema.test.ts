import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printedSchema } from '../../api/graphql/schema';

describe('schema.graphql', () => {
  it('matches the schema the server builds', () => {
    const committed = fs.readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed, 'schema.graphql is out of date: run `npm run schema` and commit the result').toBe(printedSchema());
  });
});
