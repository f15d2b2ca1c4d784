import { encodeAnswer, MIN_COMPRESS_BYTES } from './compression';
import type { DocumentNode, ExecutionResult, GraphQLSchema, Source, ValidationRule } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app';
import type { Principal } from '../auth/tokens';
import { isDatabaseUnavailable } from '../db';
import { AppError, badInput, databaseUnavailable, type ErrorCode, type FieldErrors } from '../errors';
import { createContext, type GraphQLContext } from '../graphql/context';
import { toGraphQLError } from '../graphql/errors';
import { limitRules, limitsFromConfig, operationRefusal, parseWithin } from '../graphql/limits';
import { schema } from '../graphql/schema';
import { checkVariables } from '../validation';
import { bodyCoding, closeIfBodyUnread, decodeBody, readBody, sendJson, jsonBodyRefusal, type BodyCoding } from './http';

/** A JSON object body, parsed; anything else stays raw, for yoga to read (or refuse) in its own words. */
function parsedIfJsonObject(req: IncomingMessage, body: Buffer): unknown {
  if (!req.headers['content-type']?.includes('json')) return body;
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) return value;
  } catch {
    // not JSON
  }
  return body;
}

/**
 * Yoga JSON.parses the `variables` and `extensions` of a GET, or of a form-encoded POST,
 * itself, and a SyntaxError there becomes a 500: each is read here first, to name it.
 * (The variables are then checked as a POST's are, by the onParams hook.)
 */
function paramsRefusal(params: URLSearchParams): AppError | undefined {
  const fields: FieldErrors = {};
  for (const name of ['variables', 'extensions']) {
    // An empty one counts as absent, to yoga too.
    const text = params.get(name);
    if (!text) continue;
    try {
      JSON.parse(text);
    } catch {
      fields[name] = 'is not valid JSON: send a JSON object, URL-encoded, or leave the parameter out';
    }
  }
  return Object.keys(fields).length > 0 ? badInput(fields) : undefined;
}

const isFormEncoded = (req: IncomingMessage) => /^application\/x-www-form-urlencoded(;|,|$)/.test(req.headers['content-type'] ?? '');

/** What yoga answers in: JSON, or a stream of events (SSE, multipart). */
const ANSWER_TYPES = ['application/graphql-response+json', 'application/json', 'text/event-stream', 'multipart/mixed'].map((t) => t.split('/'));
const ACCEPTABLE = 'accept application/json or application/graphql-response+json (text/event-stream for a subscription), in UTF-8';

/**
 * Whether yoga will find a way to answer, read as it reads Accept (q-values ignored, only
 * UTF-8). It decides only after executing: a mutation would be written, then answered 406.
 */
function acceptsAnAnswer(accept: string | undefined): boolean {
  return (accept || '*/*')
    .replace(/\s/g, '')
    .toLowerCase()
    .split(',')
    .some((range) => {
      const [type, ...params] = range.split(';');
      if ((params.find((p) => p.includes('charset=')) ?? 'charset=utf-8') !== 'charset=utf-8') return false;
      const [pre, suf] = type.split('/');
      return ANSWER_TYPES.some(([tp, ts]) => (pre === '*' || pre === tp) && (suf === '*' || suf === ts));
    });
}

/** A refusal before yoga sees the request, in the shape GraphQL clients read. */
function sendRefusal(res: ServerResponse, err: AppError): void {
  closeIfBodyUnread(res);
  const headers = { ...err.headers, ...(err.retryAfter !== undefined ? { 'retry-after': String(err.retryAfter) } : {}) };
  sendJson(res, err.status, { errors: [{ message: err.message, extensions: { code: err.code, ...(err.fields ? { fields: err.fields } : {}) } }] }, headers);
}

/**
 * Yoga answers a Content-Type it has no parser for (415), and an answer it cannot give in
 * any type the client accepts (406: a subscription asked for as JSON), with an empty body.
 */
const EMPTY_REFUSALS: Record<number, (request: Request) => { code: ErrorCode; message: string }> = {
  415: (request) => ({
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: `send the query as application/json, such as {"query":"{ viewer { role } }","variables":{}} (or the bare document as application/graphql); got ${request.headers.get('content-type') ? `Content-Type ${request.headers.get('content-type')}` : 'no Content-Type'}`,
  }),
  406: () => ({ code: 'NOT_ACCEPTABLE', message: 'this answer is a stream of events: accept text/event-stream, or subscribe over the WebSocket' }),
};

/**
 * Yoga caches parsed documents, and parse errors, by the document's text: without a bound
 * on the text, a stream of distinct megabyte-long documents (refused or not) would keep a
 * thousand megabytes alive. Only short texts are remembered, the dashboard's and agents'
 * documents among them.
 */
class ShortKeyCache<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly maxEntries = 1000, private readonly maxKeyLength = 8192) {}
  get(key: string): T | undefined {
    return this.entries.get(key);
  }
  set(key: string, value: T): void {
    if (key.length > this.maxKeyLength) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
  }
}

type OnResponseArgs = { request: Request; response: Response; serverContext: Partial<GraphQLContext>; setResponse(response: Response): void };

export interface GraphQLDoor {
  handle(req: IncomingMessage, res: ServerResponse, search: string): Promise<void>;
  /** Ends every open SSE stream, as a draining server must. */
  endStreams(): void;
  /** Open SSE streams, for /metrics. */
  openStreams(): number;
  /** Masks an error the way every GraphQL answer does; for the WebSocket door. */
  mask(error: unknown): ReturnType<typeof toGraphQLError>;
}

/** /graphql over HTTP: GET and POST, answers whole or streamed (SSE), and GraphiQL for a browser. */
export function createGraphQLDoor(app: App, authenticate: (authorization: unknown) => Promise<Principal>): GraphQLDoor {
  const { log } = app;
  const mask = (error: unknown) => toGraphQLError(error, (err) => log.error('graphql error', err));
  const limits = limitsFromConfig(app.config);
  const rules = limitRules(limits);
  /** Ends each open SSE stream. */
  const streams = new Map<() => void, string | undefined>();
  // An SSE stream opened with an API key ends (with `complete`) at the first key refresh
  // after the key is revoked or expires, on whichever replica holds it.
  app.keys.onRefresh(() => {
    for (const [end, keyId] of [...streams]) if (keyId && !app.keys.inForce(keyId)) end();
  });
  type Args = { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null; contextValue: GraphQLContext };
  /** The per-request checks (introspection, cost), answered as a 4xx result before any resolver runs. */
  const gate = ({ args, setResultAndStopExecution }: { args: Args; setResultAndStopExecution(result: ExecutionResult): void }) => {
    const refused = operationRefusal({ ...args, variables: args.variableValues, role: args.contextValue.principal?.role, limits });
    if (refused) setResultAndStopExecution({ errors: [refused] });
  };
  const yoga = createYoga<GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    logging: false,
    maskedErrors: { maskError: mask },
    parserAndValidationCache: { documentCache: new ShortKeyCache<DocumentNode>(), errorCache: new ShortKeyCache<unknown>() },
    plugins: [
      {
        // Variables too deep or holding lone surrogates: 400 before anything reads them.
        onParams: ({ params, setResult }: { params: { variables?: unknown }; setResult(result: ExecutionResult): void }) => {
          try {
            checkVariables(params.variables);
          } catch (err) {
            setResult({ errors: [mask(err)] });
          }
        },
        // Within the token limit, before anything else looks at the document.
        onParse: ({ setParseFn }: { setParseFn(fn: (source: string | Source) => DocumentNode): void }) =>
          setParseFn((source) => parseWithin(typeof source === 'string' ? source : source.body, limits)),
        onValidate: ({ addValidationRule }: { addValidationRule(rule: ValidationRule): void }) => {
          for (const rule of rules) addValidationRule(rule);
          // Validation errors come back as a result, not through maskError; give them the same 400.
          return ({ result, setResult }: { result: readonly unknown[]; setResult(errors: unknown[]): void }) => {
            if (result.length > 0) setResult(result.map(mask));
          };
        },
        onExecute: gate,
        onSubscribe: gate,
      },
      {
        // An SSE subscription ends when its client leaves, not at its next event: the
        // adapter aborts the request's signal on disconnect, and that closes the stream.
        // Each open stream is kept, so a draining server can end them all (gracefully:
        // yoga then sends `complete` and ends the response).
        onSubscribe: ({ args }: { args: { contextValue: { request?: Request; res?: ServerResponse; principal?: Principal } } }) => ({
          onSubscribeResult: ({ result }: { result: unknown }) => {
            const signal = args.contextValue.request?.signal;
            const stream = result as Partial<AsyncIterator<unknown>>;
            if (typeof stream.return !== 'function') return;
            const end = () => {
              streams.delete(end);
              void stream.return!();
            };
            const principal = args.contextValue.principal;
            streams.set(end, principal && principal.role !== 'agent' ? principal.key?.id : undefined);
            signal?.addEventListener('abort', end, { once: true });
            // And whenever its answer is over, whatever ended it: a stream that ends by itself
            // (RATE_LIMITED) finishes its answer without an abort, and one yoga answered 406
            // (asked for as JSON) was never read, nor aborted: it stayed subscribed for good.
            args.contextValue.res?.once('close', end);
          },
        }),
      },
      {
        onResponse: ({ request, response, setResponse }: OnResponseArgs) => {
          const refusal = response.body ? undefined : EMPTY_REFUSALS[response.status]?.(request);
          if (!refusal) return;
          const headers = new Headers(response.headers);
          headers.set('content-type', 'application/json; charset=utf-8');
          setResponse(new Response(JSON.stringify({ errors: [{ message: refusal.message, extensions: { code: refusal.code } }] }), { status: response.status, statusText: response.statusText, headers }));
        },
      },
      {
        // Whole JSON answers from MIN_COMPRESS_BYTES on go compressed as the client asks.
        // Never streams (SSE, multipart: each event must leave at once), and never answers
        // to agent tokens: the heartbeat and metric doors stay as cheap as they were.
        onResponse: async ({ request, response, serverContext, setResponse }: OnResponseArgs) => {
          if (!response.body || response.headers.has('content-encoding')) return;
          if (!/json/.test(response.headers.get('content-type') ?? '') || serverContext.principal?.role === 'agent') return;
          const declared = Number(response.headers.get('content-length'));
          if (declared > 0 && declared < MIN_COMPRESS_BYTES) return;
          const raw = await response.arrayBuffer();
          const encoded = await encodeAnswer([Buffer.from(raw)], request.headers.get('accept-encoding') ?? undefined);
          const headers = new Headers(response.headers);
          for (const [name, value] of Object.entries(encoded.headers)) headers.set(name, value);
          headers.set('content-length', String(encoded.length));
          // Uncompressed, the answer as it came; compressed, its parts joined (a fraction of its size).
          const body = encoded.encoding ? new Uint8Array(Buffer.concat(encoded.parts, encoded.length)) : raw;
          setResponse(new Response(body, { status: response.status, statusText: response.statusText, headers }));
        },
      },
    ],
    graphiql: {
      title: 'Agent Monitor GraphQL',
      defaultQuery: '{\n  viewer { role }\n  agentStatusCounts { online degraded offline total }\n}\n',
      headers: JSON.stringify({ Authorization: 'Bearer <paste your admin or viewer token>' }),
    },
  });

  async function handle(req: IncomingMessage, res: ServerResponse, search: string) {
    const isGraphiQL = req.method === 'GET' && (req.headers.accept ?? '').includes('text/html') && !new URLSearchParams(search).has('query');
    let principal: Principal | undefined;
    try {
      // Every token, an agent's included, is checked before the body is even read.
      principal = isGraphiQL ? undefined : await authenticate(req.headers.authorization);
    } catch (err) {
      // Refused before execution, but still answered the way GraphQL clients read errors.
      const known = err instanceof AppError ? err : isDatabaseUnavailable(err) ? databaseUnavailable() : undefined;
      if (!known) throw err;
      if (known.code === 'SERVICE_UNAVAILABLE') log.error('database unavailable', err);
      return sendRefusal(res, known);
    }
    // A browser's GET (Accept: text/html) is answered with GraphiQL.
    if (!(req.method === 'GET' && (req.headers.accept ?? '').includes('text/html')) && !acceptsAnAnswer(req.headers.accept)) {
      return sendRefusal(res, new AppError('NOT_ACCEPTABLE', `${ACCEPTABLE}; got Accept ${req.headers.accept}`));
    }
    let params: URLSearchParams | undefined;
    if (req.method === 'GET') params = new URLSearchParams(search);
    else if (req.method !== 'HEAD') {
      // Read here, within the size limit; yoga's Node adapter takes an already-read body
      // from `req.body`, and a parsed JSON object without turning it back into a stream.
      // Undoes a Content-Encoding (gzip, deflate), or refuses one it does not know (415),
      // so yoga never reads a compressed body as JSON.
      let coding: BodyCoding;
      try {
        coding = bodyCoding(req);
      } catch (err) {
        return sendRefusal(res, err as AppError);
      }
      const raw = await readBody(req);
      let body: Buffer;
      try {
        body = await decodeBody(raw, coding);
      } catch (err) {
        if (err instanceof AppError) return sendRefusal(res, err);
        throw err;
      }
      delete req.headers['content-encoding'];
      const refusal = jsonBodyRefusal(body);
      if (refusal) return sendRefusal(res, refusal);
      if (isFormEncoded(req)) params = new URLSearchParams(body.toString('utf8'));
      (req as IncomingMessage & { body?: unknown }).body = parsedIfJsonObject(req, body);
    }
    const refused = params && paramsRefusal(params);
    if (refused) return sendRefusal(res, refused);
    // The adapter aborts the operation (and ends an SSE stream) when the client leaves,
    // and writes the answer, streamed or whole.
    await yoga.handle(req, res, createContext(app.database.db, app.services, principal));
  }

  return {
    handle,
    mask,
    endStreams: () => {
      for (const end of [...streams.keys()]) end();
    },
    openStreams: () => streams.size,
  };
}
