import { isUtf8 } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { AppError } from '../errors';
import { encodeAnswer } from './compression';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads a request body up to `limit` bytes. A larger body is refused from its
 * Content-Length before any of it is read, or as soon as a chunked body passes the
 * limit, so an oversized upload never sits in memory.
 *
 * Listens for 'data' and 'end' rather than `for await`, and through one object's bound
 * methods rather than fresh closures: on the heartbeat path the async iterator, or five
 * closures per request, cost more than the rest of the parsing. A body that arrives in
 * one chunk is returned without a copy.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => new BodyReader(req, limit, resolve, reject));
}

const tooLarge = (limit: number) => new AppError('PAYLOAD_TOO_LARGE', `request body must be at most ${limit} bytes`);

class BodyReader {
  private first?: Buffer;
  private chunks?: Buffer[];
  private size = 0;

  constructor(
    private readonly req: IncomingMessage,
    private readonly limit: number,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    this.onData = this.onData.bind(this);
    this.onEnd = this.onEnd.bind(this);
    this.onClose = this.onClose.bind(this);
    req.on('data', this.onData).on('end', this.onEnd).on('error', this.onClose).on('close', this.onClose);
  }

  private onData(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      this.cleanup();
      // Stop reading: the rest is never buffered; the error answer closes the connection.
      this.req.pause();
      return this.reject(tooLarge(this.limit));
    }
    if (!this.first) this.first = chunk;
    else (this.chunks ??= [this.first]).push(chunk);
  }

  private onEnd(): void {
    this.cleanup();
    this.resolve(this.chunks ? Buffer.concat(this.chunks, this.size) : (this.first ?? Buffer.alloc(0)));
  }

  /**
   * The client went away before the body was complete (the request's 'error' is its
   * "aborted"): its fault, answered as a bad request to nobody, not an error of the
   * server's (an ECONNRESET passed on would read as the database's).
   */
  private onClose(): void {
    this.cleanup();
    this.reject(new AppError('BAD_REQUEST', 'the connection closed before the request body was complete'));
  }

  private cleanup(): void {
    this.req.off('data', this.onData).off('end', this.onEnd).off('error', this.onClose).off('close', this.onClose);
  }
}

/**
 * Objects and arrays one JSON body may hold. JSON.parse takes about a microsecond for
 * each, on the event loop: 1 MiB of "[" was half a million of them, and a small gzip
 * body inflating to 32 MiB of "{}," eleven million (ten seconds). 20 000 metrics with
 * labels, the most one request may carry, take 40 000.
 */
export const MAX_JSON_CONTAINERS = 100_000;

/**
 * Commas one JSON body may hold, one per value past the first of each array or object:
 * plain numbers parse at about 80 ns each, so 8 MiB of "1," (four million) held the event
 * loop for a third of a second. 20 000 metrics, each with a few labels, take 160 000.
 */
export const MAX_JSON_SEPARATORS = 500_000;

/**
 * The refusal of a JSON body before it is parsed: 413 past MAX_JSON_CONTAINERS "{" and
 * "[", or past MAX_JSON_SEPARATORS "," (both counted inside strings too: the limits are
 * generous enough to count them), 400 when it is not UTF-8 (RFC 8259), which decoding
 * would otherwise turn into U+FFFD unnoticed.
 */
export function jsonBodyRefusal(body: Buffer): AppError | undefined {
  // A body has fewer of each byte than it has bytes: most (every heartbeat) need no count.
  if (body.length <= Math.min(MAX_JSON_CONTAINERS, MAX_JSON_SEPARATORS)) return isUtf8(body) ? undefined : notUtf8();
  let n = 0;
  for (const bracket of [0x7b, 0x5b]) {
    for (let i = body.indexOf(bracket); i !== -1; i = body.indexOf(bracket, i + 1)) {
      if (++n > MAX_JSON_CONTAINERS) return new AppError('PAYLOAD_TOO_LARGE', `the body holds more than ${MAX_JSON_CONTAINERS} JSON objects and arrays; send less in one request`);
    }
  }
  n = 0;
  for (let i = body.indexOf(0x2c); i !== -1; i = body.indexOf(0x2c, i + 1)) {
    if (++n > MAX_JSON_SEPARATORS) return new AppError('PAYLOAD_TOO_LARGE', `the body holds more than ${MAX_JSON_SEPARATORS} JSON values; send fewer in one request`);
  }
  return isUtf8(body) ? undefined : notUtf8();
}

const notUtf8 = () => new AppError('BAD_REQUEST', 'the body is not valid UTF-8; JSON must be sent as UTF-8');

/** A JSON body, refused (see jsonBodyRefusal) before it is parsed, or (400) when it is not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  const refused = jsonBodyRefusal(body);
  if (refused) throw refused;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new AppError('BAD_REQUEST', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * What a JSON body of the metric doors may inflate to: JSON.parse reads it in one turn of
 * the event loop. REST and GraphQL bodies inflate to MAX_BODY_BYTES, the most they may be
 * plain: a few KiB of gzip must not buy what a megabyte of text cannot.
 */
export const MAX_INFLATED_JSON_BYTES = 8 * 1024 * 1024;

/** The Content-Encodings a REST or GraphQL body may have, as the 415 names them. */
const ACCEPTED_ENCODINGS = 'gzip, deflate or identity';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);

export type BodyCoding = 'identity' | 'gzip' | 'deflate';

/** The request's Content-Encoding, or a 415 for one this server does not decode (one coding at most; identity is none). */
export function bodyCoding(req: IncomingMessage): BodyCoding {
  const header = req.headers['content-encoding'];
  if (header === undefined) return 'identity';
  const codings = header
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return 'identity';
  if (codings.length === 1) {
    if (codings[0] === 'gzip' || codings[0] === 'x-gzip') return 'gzip';
    if (codings[0] === 'deflate') return 'deflate';
  }
  throw new AppError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding must be ${ACCEPTED_ENCODINGS} (one coding at most), got "${header}"`);
}

/**
 * Undoes a body's Content-Encoding (see bodyCoding, which refuses any other before the
 * body is read): gzip, or deflate (zlib, or raw deflate as some clients send it),
 * inflated to `maxInflated` bytes at most (413 past it, 400 when the body is not what its
 * coding says).
 */
export async function decodeBody(body: Buffer, coding: BodyCoding, maxInflated = MAX_BODY_BYTES): Promise<Buffer> {
  if (coding === 'identity') return body;
  // Output chunks of about eight times the body (16–256 KiB): each chunk is a turn of the
  // event loop, so a bomb inflating to the limit takes a few dozen, not thousands.
  const options = { maxOutputLength: maxInflated, chunkSize: Math.min(256 * 1024, Math.max(16 * 1024, body.length * 8)) };
  try {
    if (coding === 'gzip') return await gunzip(body, options);
    // RFC 9110's deflate is zlib (RFC 1950): a first byte 0x?8 and a header divisible by 31.
    const zlibHeader = body.length >= 2 && (body[0] & 0x0f) === 8 && ((body[0] << 8) | body[1]) % 31 === 0;
    return await (zlibHeader ? inflate : inflateRaw)(body, options);
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new AppError('PAYLOAD_TOO_LARGE', `the body decompresses to more than ${maxInflated} bytes; send less in one request`);
    }
    throw new AppError('BAD_REQUEST', `the body is not valid ${coding}, as its Content-Encoding says: ${(err as Error).message}`);
  }
}

/** A REST body that must be a JSON object, its Content-Encoding undone (see decodeBody). */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const coding = bodyCoding(req);
  // Without a coding (every heartbeat), no further step.
  const body = coding === 'identity' ? await readBody(req) : await decodeBody(await readBody(req), coding);
  if (body.length === 0) throw new AppError('BAD_REQUEST', 'request body must be a JSON object');
  const value = parseJsonBody(body);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('BAD_REQUEST', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** A body already serialized as JSON. */
export function sendJsonText(res: ServerResponse, status: number, text: string, headers?: Record<string, string>): void {
  const head = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) };
  res.writeHead(status, headers ? { ...head, ...headers } : head);
  res.end(text);
}

/**
 * A JSON answer that may be large (lists): compressed per the request's Accept-Encoding
 * from MIN_COMPRESS_BYTES on, and written in the parts it was made in. The heartbeat
 * path never uses it.
 */
export async function sendLargeJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): Promise<void> {
  const encoded = await encodeAnswer(await jsonInTurns(body), req.headers['accept-encoding']);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': encoded.length, ...encoded.headers });
  res.cork();
  for (const part of encoded.parts) res.write(part);
  res.end();
}

/** Items of a list written out in one turn of the event loop (see jsonInTurns). */
const JSON_SLICE = 100;

/**
 * JSON text of a list, or of an object's lists, JSON_SLICE items per turn of the event
 * loop, in parts: a page of a thousand agents with 16 KiB of metadata each is 15 MiB,
 * which JSON.stringify and its encoding held the loop for 50–160 ms to write, and
 * copying the parts into one buffer another 40 ms (fresh memory is slow to touch).
 */
export async function jsonInTurns(value: unknown): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  const list = async (items: unknown[]) => {
    if (items.length === 0) parts.push(Buffer.from('[]'));
    for (let i = 0; i < items.length; i += JSON_SLICE) {
      if (i > 0) await nextTurn();
      // The slice's own brackets: its `[` opens the list or becomes the comma after the
      // slice before; its `]` closes the list only after the last slice.
      const text = Buffer.from(JSON.stringify(items.slice(i, i + JSON_SLICE)));
      if (i > 0) text[0] = COMMA;
      parts.push(i + JSON_SLICE >= items.length ? text : text.subarray(0, -1));
    }
  };
  if (Array.isArray(value)) await list(value);
  else if (value !== null && typeof value === 'object' && !('toJSON' in value)) {
    let first = true;
    for (const [key, item] of Object.entries(value)) {
      // What JSON.stringify leaves out of an object.
      if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
      parts.push(Buffer.from(`${first ? '{' : ','}${JSON.stringify(key)}:`));
      first = false;
      if (Array.isArray(item)) await list(item);
      else parts.push(Buffer.from(JSON.stringify(item)));
    }
    parts.push(Buffer.from(first ? '{}' : '}'));
  } else parts.push(Buffer.from(JSON.stringify(value)));
  return parts;
}

const COMMA = ','.charCodeAt(0);

/** Bodies up to this size that a refusal leaves unread are read and thrown away, keeping the connection. */
const DRAINED_BODY_BYTES = 64 * 1024;

/**
 * For a refusal: when the request's body has not all been read (refused before it was,
 * as a 401, 404 or 405 is) and may be large (declared past DRAINED_BODY_BYTES, or
 * chunked), the connection closes after the answer, rather than node:http reading the
 * rest, as long as the client cares to send it, only to throw it away. A small body is
 * left to node:http to drain: the connection stays, and a client still sending cannot
 * have it reset under the answer before reading it.
 */
export function closeIfBodyUnread(res: ServerResponse): void {
  const req = res.req;
  if (req.complete) return;
  const declared = req.headers['content-length'];
  if (declared === undefined ? req.headers['transfer-encoding'] !== undefined : Number(declared) > DRAINED_BODY_BYTES) res.shouldKeepAlive = false;
}

/** REST's error shape: `{"error":{"code","message","fields"}}`. */
export function sendError(res: ServerResponse, err: AppError): void {
  const headers: Record<string, string> = { ...err.headers };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  // The rest of an oversized body is never read; close rather than drain it.
  if (err.code === 'PAYLOAD_TOO_LARGE') headers.connection = 'close';
  closeIfBodyUnread(res);
  sendJson(res, err.status, { error: { code: err.code, message: err.message, ...(err.fields ? { fields: err.fields } : {}) } }, headers);
}
