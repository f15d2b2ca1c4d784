/**
 * Closed-loop heartbeat load over raw keep-alive HTTP/1.1 sockets (forked by the
 * benchmark; same generator for every server). Each socket is one concurrently active
 * agent slot: slot s heartbeats agents s, s+C, s+2C, … of the registered set in turn,
 * so all of them are exercised and each agent's sequence only grows.
 *
 * A hand-rolled client rather than node:http: at 10k+ requests/s on a shared core the
 * client must not be what is measured. It understands just enough HTTP (status line,
 * Content-Length, chunked bodies, Connection: close) for these servers.
 *
 * IPC: receives {cmd:'run', ...LoadSpec}; sends {type:'measuring'} when the warm-up
 * ends, {type:'measured'} when the window closes, then {type:'done', result}.
 */
import fs from 'node:fs';
import net from 'node:net';
import { summarize, type Summary } from '../lib/stats';

export interface LoadSpec {
  port: number;
  /** Heartbeats over REST or GraphQL, or registrations of new agents over REST. */
  mode: 'rest' | 'graphql' | 'register';
  /** For `register`: the enrollment token. */
  enrollmentToken?: string;
  agentsFile: string;
  /** This process's sockets, and which slots (agent offsets) they take in a larger run. */
  connections: number;
  slotOffset: number;
  slotStride: number;
  warmupMs: number;
  durationMs: number;
  /** Added to every sequence, so a later phase never goes backwards. */
  sequenceBase: number;
}

export interface LoadResult {
  completed: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  windowMs: number;
  rate: number;
  latencyMs: Summary;
  reconnects: number;
  firstError?: string;
  /** Every latency of the window, in ms, so several generators can be merged. */
  latencies: number[];
  /** CPU this generator used over the window (its own count: it may exit before others finish). */
  cpuMs: number;
}

export const HEARTBEAT_MUTATION =
  'mutation Heartbeat($id: ID!, $seq: Int) { heartbeat(input: {agentId: $id, health: {status: HEALTHY}, sequence: $seq}) { status serverTime } }';

const CRLF2 = Buffer.from('\r\n\r\n');

function run(spec: LoadSpec, send: (m: unknown) => void): Promise<LoadResult> {
  const agents = JSON.parse(fs.readFileSync(spec.agentsFile, 'utf8')) as { id: string; token: string }[];
  const visits = new Int32Array(agents.length);
  const host = `127.0.0.1:${spec.port}`;
  const query = JSON.stringify(HEARTBEAT_MUTATION);

  let registered = 0;
  function request(agent: number): string {
    if (spec.mode === 'register') {
      // A new agent every time, with the original contract's example fields.
      const body = JSON.stringify({
        name: `bench-registered-${process.pid}-${spec.sequenceBase}-${++registered}`,
        type: 'api_agent',
        host: 'web-01.company.com',
        port: 8080,
        environment: 'production',
        metadata: { region: 'us-east-1', team: 'platform' },
      });
      return (
        `POST /api/v1/agents/register HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${spec.enrollmentToken}\r\n` +
        `Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
      );
    }
    const { id, token } = agents[agent];
    const seq = spec.sequenceBase + ++visits[agent];
    const [path, body] =
      spec.mode === 'rest'
        ? [`/api/v1/agents/${id}/heartbeat`, `{"health":{"status":"healthy"},"sequence":${seq}}`]
        : ['/graphql', `{"query":${query},"variables":{"id":"${id}","seq":${seq}}}`];
    return (
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n` +
      `Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  }

  let phase: 'warmup' | 'measure' | 'drain' = 'warmup';
  let windowStart = 0;
  let windowEnd = 0;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let reconnects = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  let finish: () => void;
  const finished = new Promise<void>((r) => (finish = r));

  const record = (status: string, good: boolean, startedAt: number, detail?: string) => {
    if (phase !== 'measure') return;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (good) ok++;
    else {
      errors++;
      firstError ??= detail ?? status;
    }
    latencies.push(performance.now() - startedAt);
  };

  function open(slot: number) {
    const conn = { socket: undefined as unknown as net.Socket, buf: Buffer.alloc(0) as Buffer, startedAt: 0, agent: slot, busy: false, closing: false };
    const stride = spec.slotStride;
    const next = () => {
      if (phase === 'drain') {
        conn.socket.end();
        if (--inFlight === 0) finish();
        return;
      }
      conn.busy = true;
      conn.startedAt = performance.now();
      conn.socket.write(request(conn.agent));
      conn.agent += stride;
      if (conn.agent >= agents.length) conn.agent = slot;
    };
    const connect = () => {
      conn.buf = Buffer.alloc(0);
      const socket = net.connect({ host: '127.0.0.1', port: spec.port, noDelay: true });
      conn.socket = socket;
      socket.on('connect', next);
      socket.on('data', (chunk: Buffer) => {
        conn.buf = conn.buf.length ? Buffer.concat([conn.buf, chunk]) : chunk;
        for (;;) {
          const consumed = parse(conn.buf);
          if (consumed === undefined) return;
          conn.busy = false;
          const head = conn.buf.toString('latin1', 0, consumed.headerEnd);
          const status = head.slice(9, 12);
          const body = conn.buf.toString('utf8', consumed.bodyStart, consumed.end);
          const good = spec.mode === 'register' ? status === '201' : status === '200' && !(spec.mode === 'graphql' && body.includes('"errors"'));
          record(status, good, conn.startedAt, good ? undefined : `${status} ${body.slice(0, 300)}`);
          conn.buf = conn.buf.subarray(consumed.end);
          if (/\r\nconnection: *close/i.test(head)) {
            conn.closing = true;
            socket.destroy();
            return;
          }
          next();
        }
      });
      socket.on('error', (err) => {
        if (conn.busy) record('network', false, conn.startedAt, err.message);
        conn.busy = false;
      });
      socket.on('close', () => {
        if (phase === 'drain' && !conn.closing) return;
        conn.closing = false;
        if (phase === 'drain') {
          if (--inFlight === 0) finish();
          return;
        }
        reconnects++;
        setTimeout(connect, 5);
      });
    };
    inFlight++;
    connect();
  }

  for (let i = 0; i < spec.connections; i++) open(spec.slotOffset + i);
  let cpu0 = process.cpuUsage();
  let cpuMs = 0;
  setTimeout(() => {
    phase = 'measure';
    windowStart = performance.now();
    cpu0 = process.cpuUsage();
    send({ type: 'measuring' });
    setTimeout(() => {
      windowEnd = performance.now();
      const used = process.cpuUsage(cpu0);
      cpuMs = (used.user + used.system) / 1000;
      phase = 'drain';
      send({ type: 'measured' });
      // Sockets end after their in-flight request; give up on stragglers after 10 s.
      setTimeout(finish, 10_000).unref();
    }, spec.durationMs);
  }, spec.warmupMs);

  return finished.then(() => {
    const windowMs = windowEnd - windowStart;
    return {
      completed: ok + errors,
      ok,
      errors,
      statuses,
      windowMs,
      rate: (ok / windowMs) * 1000,
      latencyMs: summarize([...latencies]),
      reconnects,
      latencies: latencies.map((x) => Math.round(x * 100) / 100),
      cpuMs,
      firstError,
    };
  });
}

/** Where the response at the start of `buf` ends, or undefined while it is incomplete. */
function parse(buf: Buffer): { headerEnd: number; bodyStart: number; end: number } | undefined {
  const headerEnd = buf.indexOf(CRLF2);
  if (headerEnd < 0) return undefined;
  const head = buf.toString('latin1', 0, headerEnd);
  const bodyStart = headerEnd + 4;
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) {
    const end = bodyStart + Number(length[1]);
    return buf.length >= end ? { headerEnd, bodyStart, end } : undefined;
  }
  if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
      const next = lineEnd + 2 + size + 2;
      if (buf.length < next) return undefined;
      if (size === 0) return { headerEnd, bodyStart, end: next };
      at = next;
    }
  }
  return { headerEnd, bodyStart, end: bodyStart }; // no body
}

process.on('message', (m: { cmd: string } & LoadSpec) => {
  if (m.cmd !== 'run') return;
  const send = (msg: unknown) => process.send!(msg);
  run(m, send).then(
    // Exit only once the (large) result has been handed over.
    (result) => process.send!({ type: 'done', result }, () => process.disconnect()),
    (err) => {
      send({ type: 'failed', error: String(err?.stack ?? err) });
      process.exit(1);
    },
  );
});
