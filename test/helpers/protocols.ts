import snappy from 'snappyjs';
import zlib from 'node:zlib';
import { OtlpRequest, OtlpResponse, RpcStatus, WriteRequest } from '../../api/metrics/proto';
import { rawRequest } from './agents';
import type { JsonResponse } from './client';

/** Test doubles of the senders' encodings, built from the same published message definitions. */
export const encodeOtlp = (json: Record<string, unknown>) => Buffer.from(OtlpRequest.encode(OtlpRequest.fromObject(json)).finish());

export const encodeRemoteWrite = (request: Record<string, unknown>) => Buffer.from(snappy.compress(WriteRequest.encode(WriteRequest.fromObject(request)).finish()));

export function postOtlp(baseUrl: string, token: string | undefined, body: Buffer, opts: { json?: boolean; gzip?: boolean; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': opts.json ? 'application/json' : 'application/x-protobuf', ...opts.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (opts.gzip) headers['content-encoding'] = 'gzip';
  return rawBinary(baseUrl, '/v1/metrics', headers, opts.gzip ? zlib.gzipSync(body) : body);
}

export function postRemoteWrite(baseUrl: string, token: string | undefined, body: Buffer, headers: Record<string, string> = {}) {
  return rawBinary(
    baseUrl,
    '/api/v1/write',
    { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body,
  );
}

/** POSTs bytes and returns the status, headers and raw body. */
async function rawBinary(baseUrl: string, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const res = await fetch(new URL(path, baseUrl), { method: 'POST', headers, body: new Uint8Array(body) });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export const decodeOtlpAnswer = (body: Buffer) => OtlpResponse.toObject(OtlpResponse.decode(body), { longs: Number }) as { partialSuccess?: { rejectedDataPoints?: number; errorMessage?: string } };
export const decodeStatus = (body: Buffer) => RpcStatus.toObject(RpcStatus.decode(body)) as { code?: number; message?: string };

export type { JsonResponse };
export { rawRequest };
