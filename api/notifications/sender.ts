import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressPolicy } from './address';

export interface AttemptResult {
  /** ok, http_error, timeout, connection, refused_address. */
  errorClass: string;
  statusCode: number | null;
  error: string | null;
  /** The start of the response body. */
  responseBody: string | null;
  durationMs: number;
  /** Seconds, from a Retry-After the receiver sent. */
  retryAfter: number | null;
}

const SNIPPET = 1024;
/** Read no further: a receiver that answers with megabytes gets cut off here. */
const MAX_READ = 64 * 1024;

class RefusedAddress extends Error {}

/**
 * Text from the receiver as a PostgreSQL text column takes it. Decoding as UTF-8 already
 * turns bytes that are not UTF-8 into U+FFFD; NUL, which PostgreSQL refuses in text (and
 * with it the record of the whole attempt), becomes U+FFFD too. A cut at `max` leaves no
 * half of a surrogate pair behind.
 */
export function storableText(text: string, max = Infinity): string {
  let cut = text.slice(0, max);
  if (cut.length < text.length && /[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut.replace(/\u0000/g, '\uFFFD');
}

/**
 * Resolves like the system does, then refuses the connection when any address the name
 * resolves to is one webhooks may not reach; the socket connects to the address checked,
 * so a name that resolves differently a moment later (DNS rebinding) changes nothing.
 */
function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 4);
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const refusal = policy.refusal(a.address);
        if (refusal) return callback(new RefusedAddress(`${hostname} resolves to ${refusal}`), '', 4);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      callback(null, list[0].address, list[0].family);
    });
  };
}

function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - now) / 1000)) : null;
}

/** One POST of a webhook body, with its headers, within `timeoutMs` all told; never throws. */
export function postWebhook(url: string, body: string, headers: Record<string, string>, opts: { timeoutMs: number; policy: AddressPolicy }): Promise<AttemptResult> {
  const started = Date.now();
  // An error's message can quote the receiver too (a certificate's names, say).
  const done = (r: Omit<AttemptResult, 'durationMs'>): AttemptResult => ({ ...r, error: r.error === null ? null : storableText(r.error), durationMs: Date.now() - started });
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return resolve(done({ errorClass: 'connection', statusCode: null, error: 'the URL does not parse', responseBody: null, retryAfter: null }));
    }
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal)) {
      const refusal = opts.policy.refusal(literal);
      if (refusal) return resolve(done({ errorClass: 'refused_address', statusCode: null, error: refusal, responseBody: null, retryAfter: null }));
    }
    const client = target.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (r: Omit<AttemptResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(done(r));
    };
    const req = client.request(
      target,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'AgentMonitor-Webhook/1', 'content-length': Buffer.byteLength(body), ...headers },
        lookup: guardedLookup(opts.policy),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const complete = () => {
          const status = res.statusCode ?? 0;
          const text = storableText(Buffer.concat(chunks).toString('utf8'), SNIPPET);
          const ok = status >= 200 && status < 300;
          finish({
            errorClass: ok ? 'ok' : 'http_error',
            statusCode: status,
            error: ok ? null : `the receiver answered ${status}`,
            responseBody: text,
            retryAfter: parseRetryAfter(res.headers['retry-after'], Date.now()),
          });
          res.destroy();
        };
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_READ) chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_READ) complete();
        });
        res.on('end', complete);
        res.on('error', complete);
      },
    );
    const timer = setTimeout(() => {
      finish({ errorClass: 'timeout', statusCode: null, error: `no answer within ${opts.timeoutMs} ms`, responseBody: null, retryAfter: null });
      req.destroy();
    }, opts.timeoutMs);
    req.on('error', (err) => {
      const refused = err instanceof RefusedAddress;
      finish({ errorClass: refused ? 'refused_address' : 'connection', statusCode: null, error: err.message, responseBody: null, retryAfter: null });
    });
    req.end(body);
  });
}
