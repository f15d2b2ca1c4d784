import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { Clock } from '../../api/clock';
import { request, type JsonResponse } from './client';
import { registerRest } from './agents';

/** Real time plus an offset the test moves forward, so deadlines pass without waiting. */
export class OffsetClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Polls `probe` every `interval` ms until it returns something truthy, and returns that. */
export async function waitFor<T>(probe: () => T | Promise<T>, opts: { timeout?: number; interval?: number; what?: string } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeout ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${opts.what ?? 'a condition'} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, opts.interval ?? 20));
  }
}

export interface Agent {
  id: string;
  token: string;
}

/** Registers an agent through REST and returns its id and token, failing loudly otherwise. */
export async function registerAgent(baseUrl: string, enrollmentToken: string, fields: Record<string, unknown>): Promise<Agent> {
  const res = await registerRest(baseUrl, enrollmentToken, fields);
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { id: res.body.id, token: res.body.token };
}

export function heartbeatRest(baseUrl: string, agentId: string, token: string | undefined, body: unknown = {}): Promise<JsonResponse> {
  return request(`${baseUrl}/api/v1/agents/${agentId}/heartbeat`, { token, json: body });
}

export const wsUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, 'ws')}/graphql`;

/** A graphql-ws client authenticated with `token` that never retries, so a refusal surfaces. */
export function wsClient(baseUrl: string, token: string | undefined, onClosed?: (code: number) => void): Client {
  return createClient({
    url: wsUrl(baseUrl),
    webSocketImpl: WebSocket,
    connectionParams: token === undefined ? {} : { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => onClosed?.((event as { code: number }).code) },
  });
}

export interface Collected<T> {
  items: T[];
  errors: unknown[];
  completed: boolean;
  /** Resolves once `done(items)` holds; fails early if the stream errors. */
  until(done: (items: T[]) => boolean, timeout?: number): Promise<T[]>;
  dispose(): void;
}

function collector<T>(): Collected<T> & { push(item: T): void; fail(err: unknown): void; complete(): void } {
  const c = {
    items: [] as T[],
    errors: [] as unknown[],
    completed: false,
    dispose: () => {},
    push(item: T) {
      c.items.push(item);
    },
    fail(err: unknown) {
      c.errors.push(err);
    },
    complete() {
      c.completed = true;
    },
    until(done: (items: T[]) => boolean, timeout = 10_000): Promise<T[]> {
      return waitFor<T[] | false>(
        () => {
          if (c.errors.length > 0) throw new Error(`subscription failed: ${JSON.stringify(c.errors)}`);
          return done(c.items) && c.items;
        },
        { timeout, what: `subscription items (have ${c.items.length})` },
      ) as Promise<T[]>;
    },
  };
  return c;
}

/** Subscribes over graphql-ws and collects `data[field]` of every result. */
export function subscribeWs<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}): Collected<T> {
  const c = collector<T>();
  c.dispose = client.subscribe(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) c.fail(result.errors);
        else c.push(Object.values(result.data ?? {})[0] as T);
      },
      error: (err) => c.fail(err),
      complete: () => c.complete(),
    },
  );
  return c;
}

/**
 * Subscribes over Server-Sent Events (POST /graphql with Accept: text/event-stream)
 * and collects `data[field]` of each `next` event; GraphQL errors land in `errors`.
 */
export function subscribeSse<T = any>(baseUrl: string, token: string | undefined, query: string, variables: Record<string, unknown> = {}): Collected<T> & { status: Promise<number> } {
  const c = collector<T>();
  const abort = new AbortController();
  c.dispose = () => abort.abort();
  const headers: Record<string, string> = { accept: 'text/event-stream', 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const status = fetch(`${baseUrl}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }), signal: abort.signal }).then((res) => {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trimStart())
              .join('\n');
            if (event === 'complete') c.complete();
            else if (data) {
              const result = JSON.parse(data);
              if (result.errors) c.fail(result.errors);
              else c.push(Object.values(result.data ?? {})[0] as T);
            }
          }
        }
      } catch {
        // aborted by dispose()
      }
      c.complete();
    })();
    return res.status;
  });
  return Object.assign(c, { status });
}

/** A raw graphql-transport-ws socket: what a client that sends `payload` as connection_init sees. */
export function rawWs(baseUrl: string, payload: unknown, opts: { autoPong?: boolean } = {}) {
  const socket = new WebSocket(wsUrl(baseUrl), 'graphql-transport-ws', { autoPong: opts.autoPong ?? true });
  const messages: any[] = [];
  let pings = 0;
  socket.on('ping', () => pings++);
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  socket.on('error', () => {});
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => {
      socket.send(JSON.stringify({ type: 'connection_init', ...(payload === undefined ? {} : { payload }) }));
      resolve();
    });
    socket.once('error', reject);
  });
  return {
    socket,
    messages,
    get pings() {
      return pings;
    },
    opened,
    closed,
    acked: () => messages.some((m) => m.type === 'connection_ack'),
  };
}
