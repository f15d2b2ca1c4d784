import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/agents';
import { SEED_AGENT } from '../helpers/client';
import { postOtlp } from '../helpers/protocols';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Content-Encoding of request bodies on REST and GraphQL: gzip and deflate are decoded
 * (inflated to 1 MiB at most, as large as a plain body may be), identity is the body as it is, and any other coding is
 * refused with 415 naming those accepted, before the body is read.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

const ENCODERS: Record<string, (b: Buffer) => Buffer> = {
  gzip: (b) => zlib.gzipSync(b),
  'x-gzip': (b) => zlib.gzipSync(b),
  deflate: (b) => zlib.deflateSync(b),
  identity: (b) => b,
};

let n = 0;
function post(path: string, token: string, json: unknown, encoding: string | undefined, body?: Buffer) {
  const raw = Buffer.from(JSON.stringify(json));
  return rawRequest(server.url, {
    path,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) },
    body: body ?? (encoding && ENCODERS[encoding.toLowerCase()] ? ENCODERS[encoding.toLowerCase()](raw) : raw),
  });
}
const register = (encoding: string | undefined, body?: Buffer) => post('/api/v1/agents/register', server.enrollmentToken, { ...SEED_AGENT, name: `encoded-${++n}` }, encoding, body);
const query = (encoding: string | undefined, body?: Buffer) => post('/graphql', server.viewerToken, { query: '{ viewer { role } }' }, encoding, body);

describe('REST bodies', () => {
  it.each(['gzip', 'x-gzip', 'deflate', 'identity', 'GZIP'])('registers an agent from a body with Content-Encoding: %s', async (encoding) => {
    const res = await register(encoding);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.name).toBe(`encoded-${n}`);
  });

  it('takes a gzip heartbeat', async () => {
    const agent = await register(undefined);
    expect(agent.status).toBe(201);
    const res = await post(`/api/v1/agents/${agent.body.id}/heartbeat`, agent.body.token, { health: { status: 'healthy' }, sequence: 1 }, 'gzip');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.status).toBe('online');
  });

  it('takes a raw deflate body (no zlib header), as some clients send for "deflate"', async () => {
    const res = await register('deflate', zlib.deflateRawSync(Buffer.from(JSON.stringify({ ...SEED_AGENT, name: 'raw-deflate' }))));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.name).toBe('raw-deflate');
  });

  it.each(['br', 'compress', 'zstd', 'gzip, br', 'gzip, gzip'])('refuses Content-Encoding: %s with 415 naming the encodings accepted, creating nothing', async (encoding) => {
    const res = await register(encoding, zlib.gzipSync(Buffer.from(JSON.stringify({ ...SEED_AGENT, name: 'never' }))));
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(res.body.error.message).toContain('gzip, deflate or identity');
  });

  it('refuses a body that is not what its encoding says with 400, and one inflating past 1 MiB with 413', async () => {
    const garbage = await register('gzip', Buffer.from(JSON.stringify(SEED_AGENT)));
    expect(garbage.status).toBe(400);
    expect(garbage.body.error.message).toMatch(/not valid gzip/);
    // 16 MiB of spaces around a small object: a few KiB of gzip.
    const bomb = zlib.gzipSync(Buffer.concat([Buffer.from(JSON.stringify({ ...SEED_AGENT, name: 'bomb' })), Buffer.alloc(16 * 1024 * 1024, 0x20)]));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const res = await register('gzip', bomb);
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.body.error.message).toContain(String(1024 * 1024));
  });
});

describe('GraphQL bodies', () => {
  it.each(['gzip', 'deflate', 'identity'])('answers a POST with Content-Encoding: %s', async (encoding) => {
    const res = await query(encoding);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ data: { viewer: { role: 'VIEWER' } } });
  });

  it('refuses an unknown encoding with 415, in the shape GraphQL clients read', async () => {
    const res = await query('br', zlib.brotliCompressSync(Buffer.from(JSON.stringify({ query: '{ viewer { role } }' }))));
    expect(res.status).toBe(415);
    expect(res.body.errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(res.body.errors[0].message).toContain('gzip, deflate or identity');
  });

  it('refuses a gzip body inflating past 1 MiB with 413', async () => {
    const bomb = zlib.gzipSync(Buffer.concat([Buffer.from('{"query":"{ viewer { role } }"}'), Buffer.alloc(2 * 1024 * 1024, 0x20)]));
    const res = await query('gzip', bomb);
    expect(res.status).toBe(413);
    expect(res.body.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });
});

describe('bodies that are not UTF-8', () => {
  // "caf\xe9": Latin-1, which decoding would turn into "caf\ufffd" and store unnoticed.
  const latin1 = (text: string) => Buffer.from(text.replace('café', 'caf\u00e9'), 'latin1');
  const REFUSED = 'the body is not valid UTF-8; JSON must be sent as UTF-8';

  it('refuses a REST body with 400 and writes nothing; the same text as UTF-8 is taken', async () => {
    const json = JSON.stringify({ ...SEED_AGENT, name: 'café-agent' });
    const res = await register(undefined, latin1(json));
    expect(res.status).toBe(400);
    expect(res.body.error).toEqual({ code: 'BAD_REQUEST', message: REFUSED });
    const ok = await register(undefined, Buffer.from(json));
    expect(ok.status).toBe(201);
    expect(ok.body.name).toBe('café-agent');
  });

  it('refuses a GraphQL body with 400, also once inflated from gzip', async () => {
    const json = JSON.stringify({ query: '{ agents(filter: { search: "café" }) { totalCount } }' });
    for (const [encoding, body] of [[undefined, latin1(json)], ['gzip', zlib.gzipSync(latin1(json))]] as const) {
      const res = await query(encoding, body);
      expect(res.status, String(encoding)).toBe(400);
      expect(res.body.errors[0].message).toBe(REFUSED);
    }
    expect((await query(undefined, Buffer.from(json))).status).toBe(200);
  });

  it('refuses an OTLP/JSON body with 400 and a google.rpc.Status saying why', async () => {
    const agent = await register(undefined);
    const json = JSON.stringify({ resourceMetrics: [{ scopeMetrics: [{ metrics: [{ name: 'm', gauge: { dataPoints: [{ asDouble: 1, attributes: [{ key: 'city', value: { stringValue: 'café' } }] }] } }] }] }] });
    const res = await postOtlp(server.url, agent.body.token, latin1(json), { json: true });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toEqual({ code: 3, message: REFUSED });
    expect((await postOtlp(server.url, agent.body.token, Buffer.from(json), { json: true })).status).toBe(200);
  });
});
