/**
 * Mass transitions against a running real server: `count` agents whose deadlines pass
 * in the same instant go OFFLINE, and then all heartbeat at once and come back ONLINE,
 * as one graphql-ws subscriber sees it. Times are taken here, when the subscriber has
 * each event, against the deadline (offline) and each heartbeat's answer (recovery).
 */
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { hashToken, newAgentToken } from '../../api/auth/tokens';
import type { ServerProcess } from './proc';
import { summarize, type Summary } from './stats';

export interface MassResult {
  agents: number;
  /** From the common deadline until the subscriber had the last OFFLINE. */
  offlineAllMs: number;
  /** Per agent, from its heartbeat's answer until the subscriber had its ONLINE. */
  recoveryMs: Summary;
  /** From the first heartbeat sent until the subscriber had the last ONLINE. */
  recoveryAllMs: number;
}

const QUERY = 'subscription { agentStatusChanged(filter: { type: "mass" }) { agent { id } status } }';

export async function measureMass(o: { server: ServerProcess; databaseUrl: string; viewerToken: string; count: number; log(line: string): void }): Promise<MassResult> {
  const fleet = Array.from({ length: o.count }, () => {
    const id = randomUUID();
    return { id, token: newAgentToken(id) };
  });
  const db = new pg.Client({ connectionString: o.databaseUrl });
  await db.connect();
  const base = `http://127.0.0.1:${o.server.port}`;
  const received = new Map<string, number>();
  const client = createClient({ url: `ws://127.0.0.1:${o.server.port}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${o.viewerToken}` }, retryAttempts: 0 });
  try {
    await db.query(
      `insert into agents (id, name, type, host, port, environment, token_hash, heartbeat_interval_seconds, offline_at)
       select u.id, 'mass-' || u.n, 'mass', 'mass-' || u.n || '.internal', 8080, 'production', u.hash, 60, now() + interval '1 day'
       from unnest($1::uuid[], $2::text[]) with ordinality as u(id, hash, n)`,
      [fleet.map((a) => a.id), fleet.map((a) => hashToken(a.token))],
    );
    const failed = new Promise<never>((_, reject) =>
      client.subscribe({ query: QUERY }, { next: (r) => {
        const e = (r.data as { agentStatusChanged: { agent: { id: string }; status: string } }).agentStatusChanged;
        received.set(`${e.status}:${e.agent.id}`, performance.now());
      }, error: reject, complete: () => reject(new Error('subscription ended')) }),
    );
    const until = (done: () => boolean, timeoutMs: number) =>
      Promise.race([
        failed,
        new Promise<void>((resolve, reject) => {
          const deadline = performance.now() + timeoutMs;
          const poll = () => (done() ? resolve() : performance.now() > deadline ? reject(new Error('timed out')) : setTimeout(poll, 2));
          poll();
        }),
      ]);
    // Live once a probe's transition arrives.
    const [probe, ...rest] = fleet;
    await db.query('update agents set offline_at = now() where id = $1', [probe.id]);
    await until(() => received.has(`OFFLINE:${probe.id}`), 10_000);

    const lead = 1_500;
    const deadline = performance.now() + lead;
    await db.query(`update agents set offline_at = now() + make_interval(secs => $1::float8 / 1000) where type = 'mass' and id <> $2`, [lead, probe.id]);
    await until(() => rest.every((a) => received.has(`OFFLINE:${a.id}`)), 60_000);
    const offlineAllMs = Math.max(...rest.map((a) => received.get(`OFFLINE:${a.id}`)!)) - deadline;
    o.log(`  mass offline: ${rest.length} agents OFFLINE at the subscriber ${offlineAllMs.toFixed(0)} ms after their common deadline`);

    const answered = new Map<string, number>();
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        while (next < fleet.length) {
          const agent = fleet[next++];
          const res = await fetch(`${base}/api/v1/agents/${agent.id}/heartbeat`, { method: 'POST', headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' }, body: '{}' });
          await res.text();
          if (res.status !== 200) throw new Error(`heartbeat answered ${res.status}`);
          answered.set(agent.id, performance.now());
        }
      }),
    );
    await until(() => fleet.every((a) => received.has(`ONLINE:${a.id}`)), 60_000);
    const recovery = fleet.map((a) => received.get(`ONLINE:${a.id}`)! - answered.get(a.id)!);
    const recoveryAllMs = Math.max(...fleet.map((a) => received.get(`ONLINE:${a.id}`)!)) - started;
    const result = { agents: o.count, offlineAllMs, recoveryMs: summarize(recovery), recoveryAllMs };
    o.log(
      `  mass recovery: ${fleet.length} heartbeats sent in ${(Math.max(...answered.values()) - started).toFixed(0)} ms; ONLINE at the subscriber p50 ${result.recoveryMs.p50.toFixed(0)} ms, ` +
        `p99 ${result.recoveryMs.p99.toFixed(0)} ms, max ${result.recoveryMs.max.toFixed(0)} ms after each heartbeat's answer; all ${recoveryAllMs.toFixed(0)} ms after the first`,
    );
    return result;
  } finally {
    await client.dispose();
    await db.end();
  }
}
