/** Baseline: node:http + a pg pool, one `UPDATE … WHERE id = $1` (its own transaction) per request. */
import pg from 'pg';
import { answer, HEARTBEAT_PATH, fail, readJson, serve } from './common';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_POOL_SIZE || 10) });

serve(
  'naive per-request UPDATE',
  async (req, res) => {
    const id = HEARTBEAT_PATH.exec(req.url ?? '')?.[1];
    const body = await readJson(req);
    if (!id || typeof body !== 'object' || body === null) return fail(res, 400, 'bad request');
    const { rowCount } = await pool.query('update agents set last_heartbeat = now() where id = $1', [id]);
    if (rowCount !== 1) return fail(res, 404, 'no such agent');
    answer(res);
  },
  () => pool.end(),
);
