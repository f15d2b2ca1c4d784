/**
 * Baseline, the "bare batched ceiling": node:http that coalesces heartbeats into one
 * `UPDATE … FROM unnest($1::uuid[])` per flush and answers each once its batch has
 * committed. Same knobs and defaults as the real batcher: a flush every
 * HEARTBEAT_FLUSH_MS (5) or at HEARTBEAT_BATCH_SIZE (1000), up to DB_POOL_SIZE − 2 at once.
 */
import pg from 'pg';
import { answer, HEARTBEAT_PATH, fail, readJson, serve } from './common';

const poolSize = Number(process.env.DB_POOL_SIZE || 10);
const flushMs = Number(process.env.HEARTBEAT_FLUSH_MS || 5);
const batchSize = Number(process.env.HEARTBEAT_BATCH_SIZE || 1000);
const maxInFlight = Math.max(1, poolSize - 2);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: poolSize });

type Waiter = { id: string; done(err?: unknown): void };
let queue: Waiter[] = [];
let timer: NodeJS.Timeout | undefined;
let inFlight = 0;

function schedule() {
  if (inFlight >= maxInFlight) return;
  if (queue.length >= batchSize) {
    clearTimeout(timer);
    timer = undefined;
    void flush();
  } else if (!timer) {
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, flushMs);
  }
}

async function flush() {
  if (queue.length === 0) return;
  const batch = queue.slice(0, batchSize);
  queue = queue.slice(batchSize);
  inFlight++;
  try {
    await pool.query('update agents a set last_heartbeat = now() from unnest($1::uuid[]) as u(id) where a.id = u.id', [batch.map((w) => w.id)]);
    for (const w of batch) w.done();
  } catch (err) {
    for (const w of batch) w.done(err);
  } finally {
    inFlight--;
    if (queue.length > 0) schedule();
  }
}

serve(
  'bare batched node:http',
  async (req, res) => {
    const id = HEARTBEAT_PATH.exec(req.url ?? '')?.[1];
    const body = await readJson(req);
    if (!id || typeof body !== 'object' || body === null) return fail(res, 400, 'bad request');
    await new Promise<void>((resolve, reject) => {
      queue.push({ id, done: (err) => (err ? reject(err) : resolve()) });
      schedule();
    });
    answer(res);
  },
  () => pool.end(),
);
