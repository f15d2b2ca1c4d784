/**
 * What the baseline servers share: the same request (path, JSON body) and the same
 * answer shape as the real REST heartbeat, so only the work in between differs.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const HEARTBEAT_PATH = /^\/api\/v1\/agents\/([0-9a-f-]{36})\/heartbeat$/;
const INTERVAL_S = 3600;

export function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err);
      }
    });
    req.on('error', reject);
  });
}

/** The real server's 200 body, field for field. */
export function answer(res: ServerResponse): void {
  const now = new Date();
  const text = JSON.stringify({
    server_time: now.toISOString(),
    status: 'online',
    next_heartbeat_by: new Date(now.getTime() + INTERVAL_S * 1000).toISOString(),
    offline_at: new Date(now.getTime() + 3 * INTERVAL_S * 1000).toISOString(),
    heartbeat_interval_seconds: INTERVAL_S,
    configuration_revision: 0,
    stale_sequence: false,
  });
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function fail(res: ServerResponse, status: number, message: string): void {
  const text = JSON.stringify({ error: { code: 'BENCH', message } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Serves on 127.0.0.1, an ephemeral port, and prints it the way the real server does. */
export function serve(name: string, handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, onStop: () => Promise<void> = async () => {}): void {
  const server = http.createServer((req, res) => {
    handler(req, res).catch((err) => fail(res, 500, String(err?.message ?? err)));
  });
  server.keepAliveTimeout = 5_000;
  server.listen(0, '127.0.0.1', () => console.log(`${name} listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void onStop().finally(() => process.exit(0));
  });
}
