import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/client';
import { capturingLogger, rawHttp } from '../helpers/raw';
import { startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
const captured = capturingLogger();
// A clock that can be made to fail, to see how an unexpected error is logged.
let clockFails = false;
const clock = {
  now: () => {
    if (clockFails) throw new Error('clock exploded');
    return new Date();
  },
};

beforeAll(async () => {
  server = await startTestServer({ log: captured.log, clock });
});
afterAll(() => server?.close());

const MALFORMED = ['//', '//health', '//graphql', 'http://[', 'http://[::1', 'https://[/graphql', 'http://%zz/', '*', 'graphql', 'ftp://host/graphql'];
const UPGRADES: [string, Record<string, string>][] = [
  ['no Upgrade', {}],
  ['Upgrade: h2c', { connection: 'Upgrade, HTTP2-Settings', upgrade: 'h2c', 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' }],
  ['Upgrade: websocket', { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }],
  ['Upgrade: nonsense', { connection: 'Upgrade', upgrade: 'x'.repeat(300) }],
];
const requestText = (method: string, target: string, headers: Record<string, string>) =>
  `${method} ${target} HTTP/1.1\r\nhost: localhost\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;

async function stillServing() {
  const health = await request(`${server.url}/health`);
  expect(health.status).toBe(200);
}

describe('malformed request targets', () => {
  for (const [name, headers] of UPGRADES) {
    it(`answers each malformed target with 400 BAD_REQUEST, with ${name}, and keeps serving`, async () => {
      for (const target of MALFORMED) {
        for (const method of ['GET', 'POST']) {
          const res = await rawHttp(server.url, requestText(method, target, headers));
          expect(res.status, `${method} ${target}`).toBe(400);
          expect(res.body.error.code, `${method} ${target}`).toBe('BAD_REQUEST');
          expect(res.body.error.message).toMatch(/request target|malformed/);
        }
      }
      await stillServing();
    });
  }

  it('still routes a well-formed absolute-form target like its path, with or without an Upgrade it does not serve', async () => {
    const { host } = new URL(server.url);
    for (const [name, headers] of UPGRADES.slice(0, 2)) {
      const res = await rawHttp(server.url, requestText('GET', `http://${host}/health?x=1`, headers));
      expect(res.status, name).toBe(200);
      expect(res.body.status).toBe('ok');
    }
  });

  it('answers a request that asks for h2c or a WebSocket on a path without one as plain HTTP/1.1', async () => {
    for (const [name, headers] of UPGRADES.slice(1)) {
      const res = await rawHttp(server.url, requestText('GET', '/health', headers));
      expect(res.status, name).toBe(200);
      expect(res.headers.upgrade).toBeUndefined();
      const missing = await rawHttp(server.url, requestText('GET', '/nothing-here', headers));
      expect(missing.status, name).toBe(404);
      expect(missing.body.error.code).toBe('NOT_FOUND');
    }
  });

  it('reads the body of a request that asks for an upgrade it does not get (curl --http2 asks for h2c), by Content-Length or chunked', async () => {
    let n = 0;
    for (const [name, headers] of UPGRADES.slice(1)) {
      const json = JSON.stringify({ name: `upgrade-body-${++n}`, type: 'web_server', host: 'h2c.example', port: 443 });
      const auth = { authorization: `Bearer ${server.enrollmentToken}`, 'content-type': 'application/json' };
      const sized = await rawHttp(server.url, requestText('POST', '/api/v1/agents/register', { ...headers, ...auth, 'content-length': String(Buffer.byteLength(json)) }) + json);
      expect(sized.status, name).toBe(201);
      expect(sized.body.name).toBe(`upgrade-body-${n}`);
      const chunkedJson = json.replace(`upgrade-body-${n}`, `upgrade-body-${++n}`);
      const chunks = `${chunkedJson.length.toString(16)}\r\n${chunkedJson}\r\n0\r\n\r\n`;
      const chunked = await rawHttp(server.url, requestText('POST', '/api/v1/agents/register', { ...headers, ...auth, 'transfer-encoding': 'chunked' }) + chunks);
      expect(chunked.status, name).toBe(201);
      expect(chunked.body.name).toBe(`upgrade-body-${n}`);
    }
    await stillServing();
  });

  it('answers a WebSocket handshake on /graphql that lacks its key with 400, not a crash', async () => {
    const res = await rawHttp(server.url, requestText('GET', '/graphql', { connection: 'Upgrade', upgrade: 'websocket' }));
    expect(res.status).toBe(400);
    await stillServing();
  });

  it('answers a request node:http cannot parse with 400 in the REST error shape', async () => {
    for (const text of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nbad header\r\n\r\n', 'GET /health HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n']) {
      const res = await rawHttp(server.url, text);
      expect(res.status, JSON.stringify(text)).toBe(400);
      expect(res.body.error.code).toBe('BAD_REQUEST');
    }
    await stillServing();
  });
});

describe('unexpected errors in a request', () => {
  it('answers 500 and logs the error exactly once, with the request on its own line', async () => {
    const before = captured.lines().length;
    clockFails = true;
    try {
      const res = await request(`${server.url}/api/v1/agents/register`, { token: server.enrollmentToken, json: { name: 'n', type: 't', host: 'h', port: 1 } });
      expect(res.status).toBe(500);
      expect(res.headers.get('x-request-id')).toBeTruthy();
    } finally {
      clockFails = false;
    }
    const lines = captured.lines().slice(before);
    // Background jobs (the sweeper, roll-ups, compaction, alert rounds) read the same clock
    // and may log their own failures meanwhile; only lines about the request count here.
    const errors = lines.filter((l) => l.level === 'error' && l.err && /request|answer|response/.test(l.msg));
    expect(errors).toHaveLength(1);
    expect(errors[0].msg).toBe('POST request failed');
    expect(errors[0].err.message).toBe('clock exploded');
    expect(lines.filter((l) => l.route === 'POST /api/v1/agents/register' && l.status === 500)).toHaveLength(1);
  });
});
