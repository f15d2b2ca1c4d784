import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { waitFor } from './liveness';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
  /** Whether `standardwebhooks` accepted the signature with the secret set on the receiver. */
  verified: boolean | undefined;
  status: number;
}

/**
 * A webhook receiver on 127.0.0.1 only, as a test's peer. `answers` is a queue of
 * statuses (and headers) to answer with, then 200 for good. Every request is verified
 * with the `standardwebhooks` package, an implementation independent of the server's.
 */
export async function startReceiver() {
  const received: Received[] = [];
  /** Per path, the answers to give before 200s. */
  const answers = new Map<string, { status: number; headers?: Record<string, string> }[]>();
  let secret: string | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified: boolean | undefined;
      if (secret) {
        try {
          new Webhook(secret).verify(body, req.headers as Record<string, string>);
          verified = true;
        } catch {
          verified = false;
        }
      }
      const answer = answers.get(req.url ?? '/')?.shift() ?? { status: 200 };
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      received.push({ path: req.url ?? '/', headers: req.headers, body, json, verified, status: answer.status });
      res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers }).end(answer.status < 300 ? 'ok' : `failing on purpose (${answer.status})`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    /** A URL of its own for one channel, to answer and count apart. */
    urlFor: (name: string) => `http://127.0.0.1:${port}/${name}`,
    received,
    /** Queues answers for requests to `urlFor(name)`. */
    answer(name: string, ...list: { status: number; headers?: Record<string, string> }[]) {
      answers.set(`/${name}`, [...(answers.get(`/${name}`) ?? []), ...list]);
    },
    setSecret(s: string) {
      secret = s;
    },
    /** Requests answered 2xx. */
    accepted: () => received.filter((r) => r.status < 300),
    until(check: (r: Received[]) => boolean, timeout = 15_000) {
      return waitFor(() => check(received) && received, { timeout, what: `webhook requests (have ${received.length})` });
    },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
