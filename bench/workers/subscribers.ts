/**
 * Many graphql-ws subscribers in one process (forked by the benchmark), each on its own
 * WebSocket, speaking the graphql-transport-ws protocol directly: the client library's
 * own overhead would otherwise be part of the measured delivery time. Every delivery is
 * stamped on arrival with the machine clock (machineClockMs), the same clock the trigger
 * reads in the parent process.
 *
 * IPC commands: open, counts, reset, report, close (each answered with a message).
 */
import WebSocket from 'ws';
import { machineClockMs as now } from '../lib/clock';

const QUERY = 'subscription BenchFanout { agentStatusChanged { cursor agent { id } previousStatus status at } }';

interface Subscriber {
  ws: WebSocket;
  agent: number[];
  status: number[];
  at: number[];
}

const subscribers: Subscriber[] = [];
let agentIndex = new Map<string, number>();
let errors = 0;
let closed = 0;
let firstError: string | undefined;

function open(url: string, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    const sub: Subscriber = { ws, agent: [], status: [], at: [] };
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (ok) subscribers.push(sub);
      resolve(ok);
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
    ws.on('message', (data) => {
      const t = now();
      const msg = JSON.parse(data.toString());
      if (msg.type === 'next') {
        const change = msg.payload?.data?.agentStatusChanged;
        if (!change) {
          errors++;
          firstError ??= JSON.stringify(msg.payload).slice(0, 300);
          return;
        }
        sub.agent.push(agentIndex.get(change.agent.id) ?? -1);
        sub.status.push(change.status === 'DEGRADED' ? 1 : change.status === 'ONLINE' ? 0 : 2);
        sub.at.push(t);
      } else if (msg.type === 'connection_ack') {
        ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: QUERY } }));
        settle(true);
      } else if (msg.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong' }));
      } else if (msg.type === 'error' || msg.type === 'complete') {
        errors++;
        firstError ??= JSON.stringify(msg).slice(0, 300);
      }
    });
    ws.on('error', (err) => {
      errors++;
      firstError ??= err.message;
      settle(false);
    });
    ws.on('close', (code, reason) => {
      closed++;
      if (!settled) firstError ??= `closed before the connection was acknowledged: ${code} ${reason.toString()}`;
      settle(false);
    });
  });
}

process.on('message', async (m: any) => {
  const reply = (msg: unknown) => process.send!(msg);
  switch (m.cmd) {
    case 'open': {
      agentIndex = new Map((m.agents as string[]).map((id, i) => [id, i]));
      let ok = 0;
      // A few at a time, as dashboards would arrive, not one SYN flood.
      for (let i = 0; i < m.count; i += 50) {
        const batch = await Promise.all(Array.from({ length: Math.min(50, m.count - i) }, () => open(m.url, m.token)));
        ok += batch.filter(Boolean).length;
      }
      return reply({ type: 'opened', ok, failed: m.count - ok, firstError });
    }
    case 'counts': {
      const n = subscribers.map((s) => s.at.length);
      const histogram: Record<number, number> = {};
      for (const x of n) histogram[x] = (histogram[x] ?? 0) + 1;
      return reply({ type: 'counts', min: Math.min(...n), max: Math.max(...n), histogram, errors, closed, firstError });
    }
    case 'reset':
      for (const s of subscribers) {
        s.agent.length = 0;
        s.status.length = 0;
        s.at.length = 0;
      }
      return reply({ type: 'reset' });
    case 'report':
      return reply({ type: 'report', subscribers: subscribers.map((s) => ({ agent: s.agent, status: s.status, at: s.at })), errors, closed, firstError });
    case 'close':
      for (const s of subscribers) s.ws.terminate();
      reply({ type: 'closed' });
      return void setTimeout(() => process.exit(0), 50);
  }
});
