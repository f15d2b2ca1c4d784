import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedEncodings, pickEncoding } from '../../api/http/compression';
import { serveDashboard } from '../../api/http/static';
import { precompress } from '../../dashboard/build/precompress';
import { registerGraphQL } from '../helpers/agents';
import { inParallel } from '../helpers/client';
import { heartbeatRest } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/** A request whose answer is read as the bytes on the wire (fetch would decompress them). */
function raw(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}
const decode = (r: { headers: http.IncomingHttpHeaders; body: Buffer }) =>
  r.headers['content-encoding'] === 'br' ? brotliDecompressSync(r.body) : r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body;

describe('choosing an encoding from Accept-Encoding', () => {
  it('prefers brotli, follows q-values, never takes one refused with q=0, and reads * as the rest', () => {
    expect(pickEncoding('gzip, deflate, br, zstd')).toBe('br');
    expect(pickEncoding('gzip')).toBe('gzip');
    expect(pickEncoding('br;q=0.5, gzip;q=0.8')).toBe('gzip');
    expect(pickEncoding('br;q=0, gzip;q=0')).toBeUndefined();
    expect(pickEncoding('identity')).toBeUndefined();
    expect(pickEncoding(undefined)).toBeUndefined();
    expect(acceptedEncodings('*;q=0.1, br;q=0')).toEqual(['gzip']);
    expect(acceptedEncodings('BR, GZIP;q=0.9')).toEqual(['br', 'gzip']);
  });
});

describe('the dashboard files, compressed at build time', () => {
  let root: string;
  let server: http.Server;
  let url: string;
  const js = `export const fleet = ${JSON.stringify(Array.from({ length: 200 }, (_, i) => ({ name: `gw-${i}`, status: 'online' })))};\n`;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'am-dist-'));
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'assets', 'index-AbC123.js'), js);
    writeFileSync(path.join(root, 'assets', 'tiny-XyZ.css'), 'a{color:red}');
    writeFileSync(path.join(root, 'index.html'), `<!doctype html><title>x</title>${'<!-- padding -->'.repeat(100)}`);
    precompress(root);
    server = http.createServer((req, res) => void serveDashboard(new URL(req.url!, 'http://x').pathname, res, root, req.headers['accept-encoding']));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('writes a brotli and a gzip twin of each compressible file of 1 KiB or more, and none of smaller ones', () => {
    expect(brotliDecompressSync(readFileSync(path.join(root, 'assets', 'index-AbC123.js.br'))).toString()).toBe(js);
    expect(gunzipSync(readFileSync(path.join(root, 'assets', 'index-AbC123.js.gz'))).toString()).toBe(js);
    expect(existsSync(path.join(root, 'assets', 'tiny-XyZ.css.br'))).toBe(false);
  });

  it('sends a hashed asset as its brotli or gzip twin as the client asks, cached for a year, varying on Accept-Encoding', async () => {
    for (const [accept, encoding] of [['gzip, deflate, br', 'br'], ['gzip', 'gzip'], ['identity', undefined]] as const) {
      const r = await raw(`${url}/dashboard/assets/index-AbC123.js`, { headers: { 'accept-encoding': accept } });
      expect(r.status).toBe(200);
      expect(r.headers['content-encoding']).toBe(encoding);
      expect(r.headers.vary).toBe('accept-encoding');
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(r.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      expect(decode(r).toString()).toBe(js);
    }
  });

  it('sends index.html (for client routes too) compressed but never cached without asking, and small files as they are', async () => {
    const page = await raw(`${url}/dashboard/agents/123`, { headers: { 'accept-encoding': 'br' } });
    expect(page.headers['content-encoding']).toBe('br');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(decode(page).toString()).toContain('<title>x</title>');
    const tiny = await raw(`${url}/dashboard/assets/tiny-XyZ.css`, { headers: { 'accept-encoding': 'br' } });
    expect(tiny.headers['content-encoding']).toBeUndefined();
    expect(tiny.body.toString()).toBe('a{color:red}');
  });
});

describe('answers compressed on the fly', () => {
  let server: TestServer;
  let agent: { id: string; token: string };

  beforeAll(async () => {
    server = await startTestServer();
    // More than the 100 a REST page writes per turn, so its answer is made in parts.
    await inParallel(250, 10, async (i) => {
      const res = await registerGraphQL(server.url, server.enrollmentToken, {
        name: `gw-${i}`, type: 'api_gateway', host: `gw-${i}.example.net`, port: 8000 + i, metadata: { region: 'us-east-1', rack: `r${i}` },
      });
      agent = { id: res.body.data.registerAgent.agent.id, token: res.body.data.registerAgent.token };
    });
  });
  afterAll(() => server?.close());

  const gql = (query: string, accept: string, token = server.viewerToken) =>
    raw(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'accept-encoding': accept },
      body: JSON.stringify({ query }),
    });
  const FLEET = '{ agents(first: 30) { nodes { id name host metadata status statusChangedAt } } }';

  it('compresses a GraphQL answer of 1 KiB or more as the client asks, to the same JSON', async () => {
    const plain = await gql(FLEET, 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(1024);
    for (const [accept, encoding] of [['gzip, br', 'br'], ['gzip', 'gzip']] as const) {
      const r = await gql(FLEET, accept);
      expect(r.headers['content-encoding']).toBe(encoding);
      expect(r.headers.vary).toContain('accept-encoding');
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      expect(r.body.length).toBeLessThan(plain.body.length / 3);
      expect(JSON.parse(decode(r).toString()).data.agents.nodes).toEqual(JSON.parse(plain.body.toString()).data.agents.nodes);
    }
  });

  it('leaves small GraphQL answers as they are', async () => {
    const r = await gql('{ viewer { role } }', 'br, gzip');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(r.body.toString())).toEqual({ data: { viewer: { role: 'VIEWER' } } });
  });

  it('compresses the REST list of agents, made in parts, to the same JSON', async () => {
    const list = (accept: string) => raw(`${server.url}/api/v1/agents/?limit=250`, { headers: { authorization: `Bearer ${server.viewerToken}`, 'accept-encoding': accept } });
    const plain = await list('identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Number(plain.headers['content-length'])).toBe(plain.body.length);
    const page = JSON.parse(plain.body.toString());
    expect(page.agents).toHaveLength(250);
    for (const encoding of ['br', 'gzip']) {
      const r = await list(encoding);
      expect(r.status).toBe(200);
      expect(r.headers['content-encoding']).toBe(encoding);
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      expect(JSON.parse(decode(r).toString())).toEqual(page);
    }
  });

  it('never compresses the heartbeat path, whatever the agent accepts', async () => {
    const rest = await raw(`${server.url}/api/v1/agents/${agent.id}/heartbeat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json', 'accept-encoding': 'br, gzip' },
      body: JSON.stringify({ health: { status: 'healthy' } }),
    });
    expect(rest.status).toBe(200);
    expect(rest.headers['content-encoding']).toBeUndefined();
    // An agent token's GraphQL answers too, however large: here its configuration, padded past 1 KiB.
    await raw(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` },
      body: JSON.stringify({ query: `mutation { setAgentConfiguration(agentId: "${agent.id}", key: "big", value: "${'x'.repeat(4000)}") { id } }` }),
    });
    const config = await gql(`{ agentConfiguration(agentId: "${agent.id}") { revision entries { key value } } }`, 'br, gzip', agent.token);
    expect(config.body.length).toBeGreaterThan(4000);
    expect(config.headers['content-encoding']).toBeUndefined();
    expect((await heartbeatRest(server.url, agent.id, agent.token, {})).status).toBe(200);
  });
});
