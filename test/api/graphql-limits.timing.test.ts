import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/client';
import { healthDuring } from '../helpers/health';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { spawnServer, type ServerProcess } from '../helpers/process';
import { TOKENS } from '../helpers/server';

// A real server process, so that the clock measures its event loop and not this one's.
let server: ServerProcess;
let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
  server = await spawnServer({ databaseUrl: database.url });
  // Warm up: the first request of each kind pays for loading and compiling code.
  await healthDuring(server.url, () => Promise.all([ask('{ __typename }'), ask(`{ ${'__typename '.repeat(2000)}}`)]));
});
afterAll(async () => {
  await server?.stop();
  await database?.drop();
});

function ask(query: string) {
  return request(`${server.url}/graphql`, { token: TOKENS.viewer, json: { query } });
}

describe('expensive documents do not stall the event loop', () => {
  /** `n` requests one after another; statuses in order. */
  const inTurn = async (n: number, query: string) => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await ask(query)).status);
    return statuses;
  };

  it('refuses 48 000-field documents (which took 27 s to validate) while /health answers within 200 ms', async () => {
    const { result, slowestMs, probes } = await healthDuring(server.url, () => inTurn(10, `{ ${'__typename '.repeat(48_000)}}`));
    expect(result).toEqual(Array(10).fill(400));
    expect(probes).toBeGreaterThan(0);
    expect(slowestMs).toBeLessThan(200);
  });

  it('refuses 998 repeats of one field before validating them, and validates the most repeats allowed, while /health answers within 200 ms', async () => {
    const { result, slowestMs } = await healthDuring(server.url, async () => [
      ...(await inTurn(10, `{ ${'__typename '.repeat(998)}}`)),
      // 50 of each field under each path, ~450 tokens.
      ...(await inTurn(10, `{ ${'__typename '.repeat(50)}${'agentStatusCounts { online offline degraded total } '.repeat(50)}}`)),
    ]);
    expect(result).toEqual([...Array(10).fill(400), ...Array(10).fill(200)]);
    expect(slowestMs).toBeLessThan(200);
  });

  it('refuses 3 000 nested inline fragments and a 20 000-deep list literal while /health answers within 200 ms', async () => {
    const { result, slowestMs } = await healthDuring(server.url, () =>
      Promise.all([
        ask(`{ ${'... on Query { '.repeat(3000)}__typename${' }'.repeat(3000)} }`),
        ask(`{ agents(filter: { tags: ${'['.repeat(20_000)}"x"${']'.repeat(20_000)} }) { totalCount } }`),
      ]),
    );
    expect(result.map((r) => r.status)).toEqual([400, 400]);
    expect(slowestMs).toBeLessThan(200);
  });
});
