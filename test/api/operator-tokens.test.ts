import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../api/config';
import { graphql, request } from '../helpers/client';
import { registerRest } from '../helpers/agents';
import { createTestDatabase, onPostgres } from '../helpers/database';
import { startTestServer, type TestServer } from '../helpers/server';

// Empty values ask the server to generate the operator tokens on its first start.
const NO_TOKENS = { ADMIN_TOKEN: '', VIEWER_TOKEN: '', ENROLLMENT_TOKEN: '' };
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const started: TestServer[] = [];
async function start(env: Record<string, string>, databaseUrl?: string) {
  const server = await startTestServer({ env, databaseUrl });
  started.push(server);
  return server;
}
async function stop(server: TestServer) {
  started.splice(started.indexOf(server), 1);
  await server.close();
}
// Replicas that joined another server's database first, the owner of the database last.
afterAll(async () => {
  for (const server of started.reverse()) await server.close();
});

/** Proves each generated token does exactly what its kind may do, through REST. */
async function expectTokensWork(server: TestServer, tokens: { admin?: string; viewer?: string; enrollment?: string }) {
  const list = (token?: string) => request(`${server.url}/api/v1/agents/`, { token });
  expect((await list(tokens.admin)).status).toBe(200);
  expect((await list(tokens.viewer)).status).toBe(200);
  expect((await list(tokens.enrollment)).status).toBe(403);
  expect((await registerRest(server.url, tokens.viewer, { name: 'viewer-may-not' })).status).toBe(403);
}

// Each project proves where its own database keeps the generated tokens.
if (!onPostgres()) {
  describe('operator tokens generated on the first start of the embedded database', () => {
    let dataDir: string;
    afterAll(() => dataDir && fs.rmSync(dataDir, { recursive: true, force: true }));

    it('writes them to tokens.json (mode 0600) in DATA_DIR, and a restart reuses them with the data', async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'am-tokens-'));
      const env = { ...NO_TOKENS, DATA_DIR: dataDir };
      const first = await start(env);
      expect(first.app.database.kind).toBe('pglite');
      const { known, generated } = first.app.credentials;
      expect(generated.sort()).toEqual(['admin', 'enrollment', 'viewer']);
      expect(known.admin).toMatch(/^am_admin_[A-Za-z0-9_-]{43}$/);
      expect(known.viewer).toMatch(/^am_viewer_[A-Za-z0-9_-]{43}$/);
      expect(known.enrollment).toMatch(/^am_enroll_[A-Za-z0-9_-]{43}$/);
      expect(new Set([known.admin, known.viewer, known.enrollment]).size).toBe(3);

      const file = path.join(dataDir, 'tokens.json');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(known);

      await expectTokensWork(first, known);
      const reg = await registerRest(first.url, known.enrollment, { name: 'survives-restart' });
      expect(reg.status).toBe(201);
      await stop(first);

      const second = await start(env);
      expect(second.app.credentials.generated).toEqual([]);
      expect(second.app.credentials.known).toEqual(known);
      await expectTokensWork(second, known);
      const again = await request(`${second.url}/api/v1/agents/${reg.body.id}`, { token: known.admin });
      expect(again.status).toBe(200);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }, 120_000);
  });
} else {
  describe('operator tokens generated on the first start with PostgreSQL', () => {
    it('stores only their hashes in operator_tokens; a second server on the database accepts them and shows none again', async () => {
      const first = await start(NO_TOKENS);
      expect(first.app.database.kind).toBe('postgres');
      const { known, generated } = first.app.credentials;
      expect(generated.sort()).toEqual(['admin', 'enrollment', 'viewer']);
      await expectTokensWork(first, known);

      const client = new pg.Client({ connectionString: first.databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query('select kind::text as kind, token_hash from operator_tokens order by kind::text');
        expect(rows).toEqual([
          { kind: 'admin', token_hash: sha256(known.admin!) },
          { kind: 'enrollment', token_hash: sha256(known.enrollment!) },
          { kind: 'viewer', token_hash: sha256(known.viewer!) },
        ]);
        const everything = JSON.stringify((await client.query('select * from operator_tokens')).rows);
        for (const token of Object.values(known)) expect(everything).not.toContain(token);
      } finally {
        await client.end();
      }

      const reg = await registerRest(first.url, known.enrollment, { name: 'seen-by-replica' });
      const second = await start(NO_TOKENS, first.databaseUrl);
      expect(second.app.credentials.generated).toEqual([]);
      expect(second.app.credentials.known).toEqual({});
      await expectTokensWork(second, known);
      expect((await request(`${second.url}/api/v1/agents/${reg.body.id}`, { token: known.viewer })).status).toBe(200);
    });

    it('adds a token from the environment as one more key; the generated one works until an admin revokes it', async () => {
      const first = await start(NO_TOKENS);
      const { known } = first.app.credentials;
      const envAdmin = 'admin-token-from-the-environment';
      const second = await start({ ...NO_TOKENS, ADMIN_TOKEN: envAdmin }, first.databaseUrl);
      expect(second.app.credentials.known).toEqual({ admin: envAdmin });
      expect((await request(`${second.url}/api/v1/agents/`, { token: envAdmin })).status).toBe(200);
      expect((await request(`${second.url}/api/v1/agents/`, { token: known.viewer })).status).toBe(200);
      const keys = await graphql(second.url, envAdmin, '{ apiKeys { id name role } }');
      const names = keys.body.data.apiKeys.map((k: { name: string }) => k.name).sort();
      expect(names).toEqual(['ADMIN_TOKEN', 'admin (first start)', 'enrollment (first start)', 'viewer (first start)']);
      const generated = keys.body.data.apiKeys.find((k: { name: string }) => k.name === 'admin (first start)');
      expect((await graphql(second.url, envAdmin, 'mutation($id: ID!) { revokeApiKey(id: $id) { state } }', { id: generated.id })).body.data.revokeApiKey.state).toBe('REVOKED');
      expect((await request(`${second.url}/api/v1/agents/`, { token: known.admin })).status).toBe(401);
      // A restart with the same environment does not bring it back.
      const third = await start(NO_TOKENS, first.databaseUrl);
      expect((await request(`${third.url}/api/v1/agents/`, { token: known.admin })).status).toBe(401);
    });

    it('generates one set of tokens when two replicas start on a fresh database at the same moment', async () => {
      const database = await createTestDatabase();
      try {
        const pair = await Promise.all([start(NO_TOKENS, database.url), start(NO_TOKENS, database.url)]);
        const winners = pair.filter((s) => s.app.credentials.generated.length > 0);
        expect(winners).toHaveLength(1);
        expect(winners[0].app.credentials.generated.sort()).toEqual(['admin', 'enrollment', 'viewer']);
        expect(pair.find((s) => s !== winners[0])!.app.credentials.generated).toEqual([]);
        for (const server of pair) await expectTokensWork(server, winners[0].app.credentials.known);
        for (const server of pair) await stop(server);
      } finally {
        await database.drop();
      }
    });
  });
}

describe('operator tokens from the environment', () => {
  it('refuses one with the form of an agent token, which would be read as that agent', () => {
    const agentShaped = `am_agent_${'0'.repeat(32)}_${'A'.repeat(43)}`;
    expect(() => loadConfig({ ADMIN_TOKEN: agentShaped })).toThrow(/ADMIN_TOKEN must not have the form of an agent token/);
    expect(() => loadConfig({ VIEWER_TOKEN: `${agentShaped}x` })).not.toThrow();
  });
});
