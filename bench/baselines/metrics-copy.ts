/**
 * The ingest ceiling: node:http + a pg pool of the real server's size, taking the same
 * simple-JSON request as `POST /api/v1/agents/{id}/metrics` and `COPY`ing its samples
 * into the same tables (metric_samples, with metric_series rows made on first sight).
 * No authentication, validation, limits, live feed or roll-up bookkeeping: what is left
 * is the least work that stores the samples.
 */
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { fail, readJson, serve } from './common';

const PATH = /^\/api\/v1\/agents\/([0-9a-f-]{36})\/metrics$/;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE || 10) });
const seriesIds = new Map<string, Promise<number>>();

interface Sample {
  name: string;
  value: number;
  labels?: Record<string, string>;
  at: string;
}

function seriesId(agentId: string, s: Sample): Promise<number> {
  const labels = JSON.stringify(s.labels ?? {});
  const key = `${agentId}\u0000${s.name}\u0000${labels}`;
  let id = seriesIds.get(key);
  if (!id) {
    id = pool
      .query(
        `insert into metric_series (agent_id, name, labels, labels_hash, kind) values ($1, $2, $3::jsonb, md5($3::text), 'gauge')
         on conflict (agent_id, name, labels_hash) do update set name = excluded.name returning id`,
        [agentId, s.name, labels],
      )
      .then((r) => r.rows[0].id as number);
    seriesIds.set(key, id);
  }
  return id;
}

serve(
  'bare metrics COPY',
  async (req, res) => {
    const m = PATH.exec(req.url ?? '');
    if (!m) return fail(res, 404, 'no such route');
    const body = (await readJson(req)) as { metrics?: Sample[] };
    if (!Array.isArray(body?.metrics)) return fail(res, 400, 'bad request');
    const ids = await Promise.all(body.metrics.map((s) => seriesId(m[1], s)));
    const lines = body.metrics.map((s, i) => `${ids[i]}\t${s.at}\t${s.value}\n`).join('');
    const client = await pool.connect();
    try {
      await pipeline(Readable.from([lines]), client.query(copyFrom('copy metric_samples (series_id, at, value) from stdin')));
    } finally {
      client.release();
    }
    const text = JSON.stringify({ accepted: body.metrics.length });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
  },
  () => pool.end(),
);
