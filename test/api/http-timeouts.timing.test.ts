import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAgents, registerRest } from '../helpers/agents';
import { subscribeSse } from '../helpers/liveness';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * A client that stops sending, or trickles a byte at a time, loses its socket once
 * HTTP_HEADERS_TIMEOUT_MS (for the head) or HTTP_REQUEST_TIMEOUT_MS (for the whole
 * request) has passed, with a 408; answers that take long (an SSE stream) are not cut.
 */
const HEADERS_MS = 600;
const REQUEST_MS = 1_200;
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ env: { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS) } });
});
afterAll(() => server?.close());

/** Opens a socket, lets `send` write to it, and resolves with what came back once the server closed it, and after how long. */
function until408(send: (socket: net.Socket) => void): Promise<{ text: string; ms: number }> {
  const { hostname, port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = net.connect(Number(port), hostname, () => send(socket));
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, ms: Date.now() - started }));
  });
}

describe('slow clients', () => {
  it('a head that never ends is answered 408 and its socket closed after HTTP_HEADERS_TIMEOUT_MS', async () => {
    const { text, ms } = await until408((s) => s.write('POST /api/v1/agents/register HTTP/1.1\r\nHost: x\r\nX-Slow: '));
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('"code":"REQUEST_TIMEOUT"');
    expect(ms).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    expect(ms).toBeLessThan(HEADERS_MS + 2_500);
  });

  it('a body that stops, or arrives a byte every 200 ms, is cut after HTTP_REQUEST_TIMEOUT_MS', async () => {
    const head = `POST /api/v1/agents/register HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.enrollmentToken}\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n`;
    const stalled = until408((s) => s.write(`${head}{"name":`));
    let timer: NodeJS.Timeout | undefined;
    const trickled = until408((s) => {
      s.write(head);
      timer = setInterval(() => s.writable && s.write(' '), 200);
    });
    for (const { text, ms } of await Promise.all([stalled, trickled])) {
      expect(text).toMatch(/^HTTP\/1\.1 408 /);
      expect(ms).toBeGreaterThanOrEqual(REQUEST_MS - 50);
      expect(ms).toBeLessThan(REQUEST_MS + 2_500);
    }
    clearInterval(timer);
    // Nothing of either was registered.
    expect(await listAgents(server.url, server.viewerToken)).toEqual([]);
  });

  it('an SSE subscription stays open past both timeouts, and still delivers', async () => {
    const sse = subscribeSse(server.url, server.viewerToken, 'subscription { agentEvents { type agent { name } } }');
    expect(await sse.status).toBe(200);
    await new Promise((r) => setTimeout(r, REQUEST_MS + 1_500));
    expect(sse.completed).toBe(false);
    expect((await registerRest(server.url, server.enrollmentToken, { name: 'after-the-timeouts' })).status).toBe(201);
    const items = await sse.until((all) => all.some((e: any) => e.agent?.name === 'after-the-timeouts'));
    expect(items.at(-1)).toMatchObject({ type: 'REGISTERED' });
    sse.dispose();
  });
});
