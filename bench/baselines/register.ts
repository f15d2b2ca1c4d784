/**
 * Baseline for registrations: node:http + a pg pool of the same size as the real
 * server's, and per request the same work in the database without any lock: one
 * transaction with an upsert of the agent on its identity and one event insert
 * carrying the agent as JSON. A fresh token is made and hashed as the real one is.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { hashToken, newAgentToken } from '../../api/auth/tokens';
import { fail, readJson, serve } from './common';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE || 10) });
const INTERVAL_S = 30;

serve(
  'bare registrations',
  async (req, res) => {
    if (req.url !== '/api/v1/agents/register') return fail(res, 404, 'no such route');
    const body = (await readJson(req)) as Record<string, unknown>;
    if (typeof body?.name !== 'string' || typeof body.host !== 'string' || typeof body.port !== 'number') return fail(res, 400, 'bad request');
    const id = randomUUID();
    const token = newAgentToken(id);
    const client = await pool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query(
        `insert into agents (id, name, type, host, port, environment, metadata, token_hash, heartbeat_interval_seconds, offline_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $9 * 3))
         on conflict (name, host, port, environment) do update
           set type = excluded.type, metadata = excluded.metadata, token_hash = excluded.token_hash, offline_at = excluded.offline_at, updated_at = now()
         returning *`,
        [id, body.name, body.type ?? 'agent', body.host, body.port, body.environment ?? 'default', body.metadata ?? {}, hashToken(token), INTERVAL_S],
      );
      const { token_hash: _secret, ...agent } = rows[0];
      await client.query(`insert into events (subject_kind, subject_id, type, at, payload) values ('agent', $1, 'registered', now(), $2)`, [agent.id, { agent, status: agent.status }]);
      await client.query('commit');
      const text = JSON.stringify({ ...agent, token });
      res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  },
  () => pool.end(),
);
