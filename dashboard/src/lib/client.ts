import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import type { Connection } from './connection.svelte';

function isCloseEvent(value: unknown): value is { code: number } {
  return typeof value === 'object' && value !== null && 'code' in value && typeof value.code === 'number';
}

function wsUrl(): string {
  const url = new URL('/graphql', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Close codes that mean "this token will never be accepted": retrying only loops. */
const REJECTED = new Set([4401, 4403]);

export interface ApiClient {
  client: Client;
  dispose(): void;
}

/**
 * One urql client per signed-in token: queries and mutations over HTTP, subscriptions
 * over one graphql-ws socket that reconnects forever with a capped backoff, since an
 * operator's screen should heal on its own after a server restart.
 */
export function createApiClient(token: string, connection: Connection): ApiClient {
  const ws: WsClient = createWsClient({
    url: wsUrl(),
    connectionParams: { authorization: `Bearer ${token}` },
    // Eager, so the live/reconnecting indicator reflects the link even between pages.
    lazy: false,
    keepAlive: 10_000,
    retryAttempts: Infinity,
    shouldRetry: (e) => !(isCloseEvent(e) && REJECTED.has(e.code)),
    retryWait: async (retries) => {
      const delay = Math.min(500 * 2 ** retries, 5000) + Math.random() * 500;
      await new Promise((resolve) => setTimeout(resolve, delay));
    },
    onNonLazyError: () => {
      // Reported through `closed` below; nothing else to do for a non-lazy client.
    },
    on: {
      connected: () => connection.connected(),
      closed: (e) => connection.closed(isCloseEvent(e) ? e.code : undefined),
    },
  });

  const client = new Client({
    url: '/graphql',
    // Pages keep their own live state, so every query goes to the network.
    requestPolicy: 'network-only',
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    dispose: () => {
      // Disposed while the socket still connects (a wrong token is refused over HTTP first),
      // graphql-ws waits for it and rejects with its CloseEvent, already reported to `closed`.
      Promise.resolve(ws.dispose()).catch(() => {});
    },
  };
}
