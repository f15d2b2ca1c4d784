import http from 'node:http';
import { graphql, request, SEED_AGENT, type JsonResponse } from './client';

/** Registration through REST; `overrides` replace fields of the example agent. */
export function registerRest(baseUrl: string, token: string | undefined, overrides: Record<string, unknown> = {}) {
  return request(`${baseUrl}/api/v1/agents/register`, { token, json: { ...SEED_AGENT, ...overrides } });
}

export const REGISTER_MUTATION = `
  mutation Register($input: RegisterAgentInput!) {
    registerAgent(input: $input) {
      token
      created
      agent { id name type host port status environment metadata tags heartbeatIntervalSeconds lastHeartbeat createdAt configurationRevision }
    }
  }`;

export function registerGraphQL(baseUrl: string, token: string | undefined, input: Record<string, unknown>) {
  return graphql(baseUrl, token, REGISTER_MUTATION, { input });
}

/** Every agent the server holds, through REST, oldest first. */
export async function listAgents(baseUrl: string, token: string, query = ''): Promise<any[]> {
  const res = await request(`${baseUrl}/api/v1/agents/${query}`, { token });
  if (res.status !== 200) throw new Error(`listing agents answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.agents;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A raw node:http request, for what fetch makes awkward: bodies declared larger than
 * they are sent, chunked uploads, and reading a response the server sends before it
 * has read the whole body.
 *
 * With `stopAfter`, only that many bytes of the body are sent and the request is never
 * finished: the promise then resolves only if the server answers without waiting for the
 * rest (and rejects after `timeoutMs` otherwise). `sent` tells how much went out.
 */
export function rawRequest(
  baseUrl: string,
  opts: { method?: string; path: string; headers?: Record<string, string | number>; body?: Buffer; chunked?: boolean; stopAfter?: number; timeoutMs?: number },
): Promise<JsonResponse & { sent: number }> {
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    if (!opts.chunked && opts.body) headers['content-length'] = opts.body.length;
    let answered = false;
    let sent = 0;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${opts.timeoutMs ?? 5000} ms after sending ${sent} bytes of the body`));
    }, opts.timeoutMs ?? 5000);
    const req = http.request(new URL(opts.path, baseUrl), { method: opts.method ?? 'POST', headers, agent: false }, (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        clearTimeout(timer);
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode!, headers: new Headers(res.headers as Record<string, string>), body, sent });
        if (opts.stopAfter !== undefined) req.destroy();
      });
    });
    // The server may answer and close before the upload finishes; the answer is what counts.
    req.on('error', (err) => (answered ? undefined : (clearTimeout(timer), reject(err))));
    const body = opts.body ?? Buffer.alloc(0);
    const total = Math.min(body.length, opts.stopAfter ?? body.length);
    const finish = () => (opts.stopAfter === undefined ? req.end() : undefined);
    if (!opts.chunked) {
      sent = total;
      req.write(body.subarray(0, total));
      return void finish();
    }
    const pump = () => {
      while (sent < total && !answered) {
        const piece = body.subarray(sent, Math.min(total, sent + 64 * 1024));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      finish();
    };
    pump();
  });
}

/** The GraphQL error of a response, asserting there is exactly one. */
export function onlyError(res: JsonResponse): { message: string; path?: string[]; extensions?: { code?: string; fields?: Record<string, string> } } {
  const errors = res.body?.errors;
  if (!Array.isArray(errors) || errors.length !== 1) throw new Error(`expected one GraphQL error, got ${JSON.stringify(res.body)}`);
  return errors[0];
}
