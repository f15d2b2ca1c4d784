import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onlyError } from '../helpers/agents';
import { graphql } from '../helpers/client';
import { registerAgent } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Cursors are opaque to clients, but a client can write any string in their place. A
 * forged one is refused as bad input (400) before it reaches SQL: never a 500, and never
 * the 503 of a database outage, which is what a PostgreSQL protocol error is counted as.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  for (const name of ['cursor-a', 'cursor-b', 'cursor-c', 'cursor-d', 'cursor-e']) await registerAgent(server.url, server.enrollmentToken, { name });
});
afterAll(() => server?.close());

const ORDERS = [undefined, 'SEVERITY', 'STATUS_SINCE', 'NAME', 'STATUS', 'TYPE', 'ENVIRONMENT', 'CREATED_AT', 'LAST_HEARTBEAT'];
const orderBy = (field: string | undefined) => (field ? { field, direction: 'ASC' } : undefined);

const AGENTS = `query($first: Int, $after: String, $last: Int, $before: String, $orderBy: AgentOrder) {
  agents(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) { totalCount nodes { id } pageInfo { startCursor endCursor } }
}`;
const agents = (vars: Record<string, unknown>) => graphql(server.url, server.viewerToken, AGENTS, vars);

/** The tagged values a connection cursor holds ("DC:T:[...]"), and back. */
const decode = (cursor: string): (string | null)[] => JSON.parse(Buffer.from(cursor, 'base64').toString().replace(/^DC:T:/, ''));
const encode = (raw: string) => Buffer.from(raw).toString('base64');
const tuple = (values: unknown[]) => encode(`DC:T:${JSON.stringify(values)}`);

/** A genuine cursor of `field`'s order: that of its first agent. */
async function genuine(field: string | undefined): Promise<string> {
  const res = await agents({ first: 1, orderBy: orderBy(field) });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.data.agents.pageInfo.endCursor;
}

/** Refused with 400 BAD_USER_INPUT naming the argument, both paging forwards (after) and backwards (before). */
async function expectRefused(cursor: string, field: string | undefined, what: string) {
  for (const [arg, vars] of [['after', { first: 2, after: cursor }], ['before', { last: 2, before: cursor }]] as const) {
    const res = await agents({ ...vars, orderBy: orderBy(field) });
    const label = `${what} as ${arg}, ordered by ${field ?? 'default'}: ${JSON.stringify(res.body).slice(0, 200)}`;
    expect(res.status, label).toBe(400);
    const error = onlyError(res);
    expect(error.extensions?.code, label).toBe('BAD_USER_INPUT');
    expect(Object.keys(error.extensions?.fields ?? {}), label).toEqual([arg]);
  }
}

describe('agents(after:, before:) with a forged cursor', () => {
  it('still pages with genuine cursors, forwards and back, in every order', async () => {
    for (const field of ORDERS) {
      const all = (await agents({ first: 100, orderBy: orderBy(field) })).body.data.agents.nodes.map((n: { id: string }) => n.id);
      expect(all).toHaveLength(5);
      const seen: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 5; page++) {
        const res = await agents({ first: 2, after, orderBy: orderBy(field) });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        seen.push(...res.body.data.agents.nodes.map((n: { id: string }) => n.id));
        after = res.body.data.agents.pageInfo.endCursor;
        if (!after) break;
      }
      expect(seen, String(field)).toEqual(all);
      const back = await agents({ last: 2, before: (await agents({ first: 3, orderBy: orderBy(field) })).body.data.agents.pageInfo.endCursor, orderBy: orderBy(field) });
      expect(back.body.data.agents.nodes.map((n: { id: string }) => n.id), String(field)).toEqual(all.slice(0, 2));
    }
  });

  it('refuses a value of the wrong type or out of its range in place of a number, before any SQL runs', async () => {
    const [, ...rest] = decode(await genuine(undefined));
    const ranks = ['N:abc', 'N:1e400', 'N:-1e400', 'N:7', 'N:0.5', 'N:1099511627776', 'S:zzz', 'S:', 'O:{"a":1}', 'O:[1,2]', 'O:true', 'I:99999999999999999999999999', 'D:99999999999999999', 'D:x', 'B:AAAA', 'B:', 'Z:', null, 'T:["N:1"]', 'J:[1]'];
    for (const rank of ranks) await expectRefused(tuple([rank, ...rest]), undefined, `severity rank ${rank}`);
  });

  it('refuses a value of the wrong type in place of text: a number, bytes, a date, JSON, null, a NUL', async () => {
    const [rank, , ...names] = decode(await genuine('SEVERITY'));
    for (const value of ['N:0', 'B:AAAA', 'D:1', 'O:{"a":1}', 'I:1', 'Z:', null, 'S:a\u0000b']) {
      await expectRefused(tuple([rank, value, ...names]), 'SEVERITY', `status time ${value}`);
    }
    const [nameKey, nameText, id] = decode(await genuine('NAME'));
    await expectRefused(tuple(['S:a\u0000b', nameText, id]), 'NAME', 'a NUL in the name key');
    await expectRefused(tuple([nameKey, 'B:AAAA', id]), 'NAME', 'bytes for the name');
  });

  it('refuses an id that is no UUID, and a status that is not one', async () => {
    const values = decode(await genuine(undefined));
    for (const id of ['S:not-a-uuid', 'S:', 'N:1', 'B:AAAA', `S:${randomUUID()}\u0000`]) await expectRefused(tuple([...values.slice(0, -1), id]), undefined, `id ${id}`);
    const [, ...rest] = decode(await genuine('STATUS'));
    for (const status of ['S:sleeping', 'S:ONLINE', 'N:0', 'S:']) await expectRefused(tuple([status, ...rest]), 'STATUS', `status ${status}`);
  });

  it('refuses a tuple longer or shorter than the order, a one-value tuple with STATUS among them', async () => {
    const values = decode(await genuine('STATUS'));
    await expectRefused(tuple(['N:0']), 'STATUS', 'one number');
    await expectRefused(tuple(['S:online']), 'STATUS', 'one status');
    await expectRefused(tuple(values.slice(0, -1)), 'STATUS', 'all but the id');
    await expectRefused(tuple([...values, 'S:x']), 'STATUS', 'one value more');
    await expectRefused(tuple([]), 'STATUS', 'no value');
    // A cursor of another order: the name order's three values under the default order's five.
    await expectRefused(await genuine('NAME'), undefined, 'a NAME cursor');
    await expectRefused(await genuine(undefined), 'NAME', 'a SEVERITY cursor');
  });

  it('refuses a cursor that is no tuple at all', async () => {
    for (const raw of ['DC:S:abc', 'DC:D:1', 'DC:N:1', 'DC:B:AAAA', 'DC:', 'DC:T:', 'DC:T:null', 'DC:T:{}', 'DC:T:[1,2]', 'DC:O:{"x":1}', 'DC:I:abc', 'XX:T:["N:0"]']) {
      await expectRefused(encode(raw), undefined, raw);
    }
    for (const junk of ['not-a-cursor', 'a\u0000b', '====']) await expectRefused(junk, undefined, JSON.stringify(junk));
  });

  it('answers every forged cursor the same while the database serves normal queries (many at once, bytes included)', async () => {
    const [, ...rest] = decode(await genuine(undefined));
    const forged = tuple(['B:AAAA', ...rest]);
    const answers = await Promise.all(Array.from({ length: 20 }, () => agents({ first: 2, after: forged })));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(400));
    const after = await graphql(server.url, server.viewerToken, '{ agentStatusCounts { total } }');
    expect(after.status).toBe(200);
    expect(after.body.data.agentStatusCounts.total).toBe(5);
  });
});

describe('alerts(after:) with a forged cursor', () => {
  const ALERTS = 'query($after: String) { alerts(first: 2, after: $after) { totalCount nodes { id } } }';
  const alertCursor = (c: Record<string, unknown>) => Buffer.from(JSON.stringify(c)).toString('base64url');
  const wellFormed = { s: 0, v: 0, t: new Date().toISOString(), id: randomUUID() };

  it('takes a well-formed cursor', async () => {
    const res = await graphql(server.url, server.viewerToken, ALERTS, { after: alertCursor(wellFormed) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('refuses ranks outside those of a state and a severity (beyond int4 among them) with 400, never 500', async () => {
    const cases = [
      { s: 2 ** 40 },
      { v: 2 ** 40 },
      { s: 2 ** 53 },
      { v: 2 ** 53 },
      { s: -1e300 },
      { v: 1e300 },
      { s: 3 },
      { v: -1 },
      { s: 1.5 },
      { s: '0' },
      { v: null },
      { t: 12 },
      { t: 'not a time' },
      { id: 'not-a-uuid' },
    ];
    for (const change of cases) {
      const res = await graphql(server.url, server.viewerToken, ALERTS, { after: alertCursor({ ...wellFormed, ...change }) });
      const label = `${JSON.stringify(change)}: ${JSON.stringify(res.body).slice(0, 200)}`;
      expect(res.status, label).toBe(400);
      expect(onlyError(res).extensions, label).toMatchObject({ code: 'BAD_USER_INPUT', fields: { after: expect.any(String) } });
    }
  });
});
