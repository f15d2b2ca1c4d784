import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors';

export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads a request body up to `limit` bytes. A larger body is refused from its
 * Content-Length before any of it is read, or as soon as a chunked body passes the
 * limit, so an oversized upload never sits in memory.
 *
 * Listens for 'data' and 'end' rather than `for await`: on the heartbeat path the
 * async iterator and its end-of-stream bookkeeping cost more than the rest of the
 * parsing, and a body that arrives in one chunk is returned without a copy.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `request body must be at most ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop reading: the rest is never buffered; the error answer closes the connection.
        req.pause();
        return reject(tooLarge());
      }
      if (!first) first = chunk;
      else (chunks ??= [first]).push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks ? Buffer.concat(chunks, size) : (first ?? Buffer.alloc(0)));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    // The client went away before the body was complete.
    const onClose = () => {
      cleanup();
      reject(new Error('request closed before its body was complete'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req);
  if (body.length === 0) throw new AppError('BAD_REQUEST', 'request body must be a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new AppError('BAD_REQUEST', `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AppError('BAD_REQUEST', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** REST's error shape: `{"error":{"code","message","fields"}}`. */
export function sendError(res: ServerResponse, err: AppError): void {
  const headers: Record<string, string> = { ...err.headers };
  if (err.retryAfter !== undefined) headers['retry-after'] = String(err.retryAfter);
  // The rest of an oversized body is never read; close rather than drain it.
  if (err.code === 'PAYLOAD_TOO_LARGE') headers.connection = 'close';
  sendJson(res, err.status, { error: { code: err.code, message: err.message, ...(err.fields ? { fields: err.fields } : {}) } }, headers);
}
