import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from '../helpers/client';
import { OffsetClock } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Revocations of admin keys running at the same time: each must lock the admin keys in
 * one order, so none deadlocks (on PostgreSQL a deadlock answers 500), and the last-admin
 * guard must hold however they interleave.
 */
const clock = new OffsetClock();
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ clock });
  working = server.adminToken;
});
afterAll(() => server?.close());

const CREATE = 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret key { id name } } }';
const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) { id state } }';
const LIST = '{ apiKeys { id name role state expiresAt } }';

let n = 0;
async function createAdmin(token: string, expiresAt?: string) {
  const res = await graphql(server.url, token, CREATE, { input: { name: `race-admin-${++n}`, role: 'ADMIN', ...(expiresAt ? { expiresAt } : {}) } });
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data.createApiKey as { secret: string; key: { id: string; name: string } };
}
const activeAdmins = async (token: string) =>
  ((await graphql(server.url, token, LIST)).body.data.apiKeys as { id: string; role: string; state: string }[]).filter((k) => k.role === 'ADMIN' && k.state === 'ACTIVE');
/** An admin secret in force, for the next test. */
let working = '';
const outcome = (res: { status: number; body: any }) => (res.body.errors ? `${res.status} ${res.body.errors[0].extensions?.code}` : `${res.status} ok`);

describe('revoking admin keys at the same time', () => {
  it('never deadlocks: pairs of concurrent revocations of two different admin keys all succeed', async () => {
    // A keeper that outlives every round, so each pair leaves an admin in force.
    const keeper = await createAdmin(server.adminToken);
    for (let round = 0; round < 6; round++) {
      const [x, y] = [await createAdmin(keeper.secret), await createAdmin(keeper.secret)];
      const results = await Promise.all([x, y].map((k) => graphql(server.url, keeper.secret, REVOKE, { id: k.key.id })));
      expect(results.map(outcome), JSON.stringify(results.map((r) => r.body))).toEqual(['200 ok', '200 ok']);
      expect(results.map((r) => r.body.data.revokeApiKey.state)).toEqual(['REVOKED', 'REVOKED']);
    }
  });

  it('with three admin keys in force, three concurrent revocations of all three: exactly two succeed, one gets CONFLICT', async () => {
    let current = server.adminToken;
    const keeper = (await activeAdmins(current)).map((k) => k.id);
    expect(keeper.length).toBeGreaterThan(0);
    for (let round = 0; round < 4; round++) {
      const three = [await createAdmin(current), await createAdmin(current), await createAdmin(current)];
      // Only these three are in force: every other admin key is revoked first.
      for (const id of keeper) {
        const res = await graphql(server.url, three[0].secret, REVOKE, { id });
        expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
      }
      keeper.length = 0;
      expect((await activeAdmins(three[0].secret)).map((k) => k.id).sort()).toEqual(three.map((k) => k.key.id).sort());
      // Each revocation authenticates with a key of its own, before any of them runs.
      const results = await Promise.all(three.map((k, i) => graphql(server.url, three[(i + 1) % 3].secret, REVOKE, { id: k.key.id })));
      const outcomes = results.map(outcome).sort();
      expect(outcomes, JSON.stringify(results.map((r) => r.body))).toEqual(['200 ok', '200 ok', '409 CONFLICT']);
      const refused = results.find((r) => r.body.errors)!;
      expect(refused.body.errors![0].message).toMatch(/last admin key/);
      const left = three[results.indexOf(refused)];
      expect((await activeAdmins(left.secret)).map((k) => k.id)).toEqual([left.key.id]);
      keeper.push(left.key.id);
      current = working = left.secret;
    }
  });
});

describe('an admin key about to expire', () => {
  it('does not count as the admin left in force: revoking the other one is refused while it expires within the hour', async () => {
    // One admin key in force, whatever the tests before left: made here, the others revoked.
    const only = await createAdmin(working);
    for (const k of await activeAdmins(only.secret)) {
      if (k.id !== only.key.id) expect(outcome(await graphql(server.url, only.secret, REVOKE, { id: k.id }))).toBe('200 ok');
    }
    const soon = await createAdmin(only.secret, new Date(clock.now().getTime() + 30_000).toISOString());
    const refused = await graphql(server.url, soon.secret, REVOKE, { id: only.key.id });
    expect(outcome(refused)).toBe('409 CONFLICT');
    expect(refused.body.errors![0].message).toMatch(/last admin key/);
    expect(refused.body.errors![0].message).toContain(soon.key.name);
    expect((await activeAdmins(only.secret)).map((k) => k.id).sort()).toEqual([only.key.id, soon.key.id].sort());

    // One that stays in force past the hour counts: then the first can go.
    const later = await createAdmin(only.secret, new Date(clock.now().getTime() + 2 * 3600_000).toISOString());
    expect(outcome(await graphql(server.url, later.secret, REVOKE, { id: only.key.id }))).toBe('200 ok');
    // And the one about to expire may always go while another stays.
    expect(outcome(await graphql(server.url, later.secret, REVOKE, { id: soon.key.id }))).toBe('200 ok');
    expect((await activeAdmins(later.secret)).map((k) => k.id)).toEqual([later.key.id]);
  });
});
