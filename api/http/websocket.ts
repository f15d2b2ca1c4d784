import { GraphQLError, specifiedRules, validate } from 'graphql';
import { CloseCode, handleProtocols, makeServer } from 'graphql-ws';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { App } from '../app';
import type { Principal } from '../auth/tokens';
import { AppError } from '../errors';
import { createContext } from '../graphql/context';
import { limitRules, limitsFromConfig, operationRefusal, parseWithin } from '../graphql/limits';
import { schema } from '../graphql/schema';
import { subscribeShared } from '../graphql/shared-subscribe';
import type { GraphQLDoor } from './graphql';
import { checkVariables } from '../validation';
import { MAX_BODY_BYTES } from './http';
import { TurnWriter } from './turn-writer';

/** A close frame's reason holds at most 123 bytes of UTF-8: a longer one is cut, at a character's end. */
function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let cut = reason.slice(0, 120);
  while (Buffer.byteLength(cut) > 120) cut = cut.slice(0, -1);
  // Never half of a surrogate pair.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** Messages of one socket handled per turn of the event loop, and most held before it is no longer read. */
const MESSAGES_PER_TURN = 8;
const MAX_QUEUED_MESSAGES = 256;

export interface WebSocketDoor {
  /** Takes over an HTTP upgrade to /graphql. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Open sockets and their active subscriptions, for /metrics. */
  stats(): { sockets: number; subscriptions: number };
  /** Closes every socket with 1001 (going away) and stops taking new ones. */
  close(): Promise<void>;
}

/**
 * graphql-ws on the same port and path, wired here rather than through graphql-ws's
 * `useServer` so that a failing socket is logged through the server's logger (once) and
 * answered with a close code, never with a line on stderr or an uncaught error.
 * The operator token arrives as the connection_init payload {"authorization": "Bearer …"};
 * a missing or bad one closes the socket with 4403.
 */
export function createWebSocketDoor(app: App, graphql: GraphQLDoor): WebSocketDoor {
  const { log } = app;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES, handleProtocols });
  wss.on('error', (err) => log.error('websocket server', err));
  // Formatted as JSON: the HTTP status yoga uses has no meaning on a socket.
  const wsError = (e: unknown) => {
    const { extensions, ...rest } = graphql.mask(e).toJSON();
    const { http: _status, ...ext } = (extensions ?? {}) as Record<string, unknown>;
    return { ...rest, extensions: ext };
  };
  const principals = new WeakMap<object, Principal>();
  /** Why a socket's connection_init was refused: the reason of its 4403. */
  const refusals = new WeakMap<object, string>();
  const { config } = app;
  /** Sockets per address that have not yet sent a valid connection_init; a socket leaves the count once accepted or closed. */
  const unaccepted = new Map<string, number>();
  const settleOf = new WeakMap<object, () => void>();
  let subscriptions = 0;
  const streams = new WeakMap<object, Set<string>>();
  const streaming = (ctx: object) => {
    let ids = streams.get(ctx);
    if (!ids) streams.set(ctx, (ids = new Set()));
    return ids;
  };
  const limits = limitsFromConfig(app.config);
  const rules = [...specifiedRules, ...limitRules(limits)];
  const server = makeServer<{ authorization?: unknown }, { socket: WebSocket; request: IncomingMessage }>({
    schema,
    // Short: a socket that has not said who it is holds a slot that others may need.
    connectionInitWaitTimeout: config.wsInitTimeoutMs,
    // A refused connection_init closes with 4403 and a reason saying what is missing.
    onConnect: (ctx) => {
      const socket = ctx.extra.socket;
      settleOf.get(socket)?.();
      let principal: Principal | undefined;
      try {
        principal = app.authenticator.authenticate(ctx.connectionParams?.authorization);
      } catch (err) {
        refusals.set(socket, `Forbidden: ${err instanceof AppError ? err.message : 'the token is not valid'}`);
        return false;
      }
      if (!principal) {
        refusals.set(socket, 'Forbidden: send {"authorization":"Bearer <admin or viewer token>"} as the connection_init payload');
        return false;
      }
      if (principal.role !== 'admin' && principal.role !== 'viewer') {
        refusals.set(socket, `Forbidden: subscriptions need an admin or viewer token, not ${principal.role === 'agent' ? 'an agent' : `an ${principal.role}`} token`);
        return false;
      }
      principals.set(socket, principal);
      return true;
    },
    // The same limits as over HTTP: parsed within the token limit, validated with the
    // depth, alias and directive rules, then introspection and cost checked.
    onSubscribe: (ctx, _id, payload) => {
      // graphql-ws has already registered this one: more than the limit means it is one too many.
      if (Object.keys(ctx.subscriptions).length > config.wsMaxSubscriptionsPerSocket) {
        return [
          new GraphQLError(`this socket already holds ${config.wsMaxSubscriptionsPerSocket} subscriptions (WS_MAX_SUBSCRIPTIONS_PER_SOCKET); complete one first, or open another socket`, {
            extensions: { code: 'RATE_LIMITED' },
          }),
        ];
      }
      let document;
      try {
        checkVariables(payload.variables);
        document = parseWithin(payload.query, limits);
      } catch (err) {
        return [err instanceof GraphQLError ? err : graphql.mask(err)];
      }
      const errors = validate(schema, document, rules);
      if (errors.length > 0) return [...errors];
      const variables = payload.variables ?? undefined;
      const refused = operationRefusal({ schema, document, operationName: payload.operationName, variables, role: principals.get(ctx.extra.socket)?.role, limits });
      if (refused) return [refused];
      return { schema, document, operationName: payload.operationName, variableValues: variables };
    },
    context: (ctx) => createContext(app.database.db, app.services, principals.get(ctx.extra.socket)),
    subscribe: (args) => subscribeShared(args, (args.contextValue as { principal?: Principal }).principal?.role ?? ''),
    // Counted from when a stream starts until it completes, for whatever reason.
    onOperation: (ctx, id, _payload, _args, result) => {
      if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
        streaming(ctx).add(id);
        subscriptions++;
      }
    },
    onComplete: (ctx, id) => {
      if (streaming(ctx).delete(id)) subscriptions--;
    },
    onError: (_ctx, _id, _payload, errors) => errors.map(wsError),
    onNext: (_ctx, _id, _payload, _args, result) =>
      result.errors ? { ...result, errors: result.errors.map((e: GraphQLError) => wsError(e)) } : undefined,
  });

  // A socket lives on after its connection_init: once its key is revoked or expires, the
  // next refresh of the key ring closes it (4403, as a refused connection_init), so a
  // revoked key keeps no live subscription on any replica.
  const stopWatchingKeys = app.keys.onRefresh(() => {
    for (const socket of wss.clients) {
      const principal = principals.get(socket);
      const key = principal && principal.role !== 'agent' ? principal.key : undefined;
      if (key && !app.keys.inForce(key.id)) socket.close(CloseCode.Forbidden, closeReason(`Forbidden: the API key "${key.name}" was revoked or has expired`));
    }
  });

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    // 1013 "try again later": graphql-ws clients retry it with backoff, as they should.
    if (wss.clients.size > config.wsMaxSockets) {
      return socket.close(1013, `server holds its limit of ${config.wsMaxSockets} sockets (WS_MAX_SOCKETS)`);
    }
    const address = request.socket.remoteAddress ?? 'unknown';
    const pending = unaccepted.get(address) ?? 0;
    if (pending >= config.wsMaxUnauthenticatedPerAddress) {
      return socket.close(1013, `too many sockets from your address await connection_init (WS_MAX_UNAUTHENTICATED_PER_ADDRESS)`);
    }
    unaccepted.set(address, pending + 1);
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      const left = (unaccepted.get(address) ?? 1) - 1;
      if (left > 0) unaccepted.set(address, left);
      else unaccepted.delete(address);
    };
    settleOf.set(socket, settle);
    socket.once('close', settle);
    // A protocol error from the client (a bad frame, an oversized message): ws closes the
    // socket itself with the matching code; it is the client's fault, so debug only.
    socket.on('error', (err) => log.debug('websocket client error', err));
    const keepAliveMs = app.config.wsKeepAliveMs;
    let pongWait: NodeJS.Timeout | undefined;
    const ping = setInterval(() => {
      if (socket.readyState !== socket.OPEN) return;
      pongWait ??= setTimeout(() => socket.terminate(), keepAliveMs);
      socket.ping();
    }, keepAliveMs);
    socket.on('pong', () => {
      clearTimeout(pongWait);
      pongWait = undefined;
    });
    const writer = new TurnWriter(socket, request.socket);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => {
          if (socket.readyState !== socket.OPEN) return;
          return writer.send(data);
        },
        close: (code, reason) => socket.close(code, closeReason((code === CloseCode.Forbidden ? refusals.get(socket) : undefined) ?? reason ?? '')),
        onMessage: (cb) => {
          // ws hands over every frame of a chunk in one turn of the event loop: a burst of
          // ten thousand messages would hold it for seconds. They are queued and handled a
          // few at a time, and the socket stops being read while the queue is long.
          // Once the socket is closing, what is still queued is dropped: graphql-ws has
          // ended the socket's subscriptions, and a subscribe handed over after that would
          // start one that nothing ever ends.
          const queue: string[] = [];
          let handling = false;
          const open = () => socket.readyState === socket.OPEN;
          const handle = async () => {
            handling = true;
            while (queue.length > 0 && open()) {
              for (let i = 0; i < MESSAGES_PER_TURN && queue.length > 0 && open(); i++) {
                cb(queue.shift()!).catch((err) => {
                  log.error('websocket message handling', err);
                  socket.close(CloseCode.InternalServerError, 'Internal server error');
                });
              }
              if (queue.length < MAX_QUEUED_MESSAGES / 2 && socket.isPaused) socket.resume();
              await new Promise((resolve) => setImmediate(resolve));
            }
            queue.length = 0;
            handling = false;
          };
          socket.on('message', (data) => {
            if (!open()) return;
            queue.push(String(data));
            if (queue.length >= MAX_QUEUED_MESSAGES) socket.pause();
            if (!handling) void handle();
          });
        },
      },
      { socket, request },
    );
    socket.once('close', (code, reason) => {
      clearInterval(ping);
      clearTimeout(pongWait);
      closed(code, String(reason)).catch((err) => log.error('websocket close handling', err));
    });
  });

  return {
    upgrade(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req));
    },
    stats: () => ({ sockets: wss.clients.size, subscriptions }),
    async close() {
      stopWatchingKeys();
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
