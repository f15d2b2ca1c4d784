import { promisify } from 'node:util';
import zlib from 'node:zlib';

/** Answers smaller than this go as they are: compressing them saves less than it costs. */
export const MIN_COMPRESS_BYTES = 1024;

export type Encoding = 'br' | 'gzip';

/** The encoding to answer in (see acceptedEncodings); undefined for none. */
export const pickEncoding = (accept: string | undefined): Encoding | undefined => acceptedEncodings(accept)[0];

/**
 * The encodings an Accept-Encoding header takes, best first: brotli and gzip as the
 * client ranks them by q-value (brotli on a tie), never one it refuses with q=0. `*`
 * stands for any encoding not named.
 */
export function acceptedEncodings(accept: string | undefined): Encoding[] {
  if (!accept) return [];
  const q: Record<string, number> = {};
  for (const part of accept.toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    if (name) q[name] = Number.isFinite(value) ? value : 0;
  }
  const rank = (e: Encoding) => q[e] ?? (e === 'gzip' ? q['x-gzip'] : undefined) ?? q['*'] ?? 0;
  return (['br', 'gzip'] as const).filter((e) => rank(e) > 0).sort((a, b) => rank(b) - rank(a));
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/**
 * Compresses an answer made on the fly: brotli at quality 4 and gzip at level 6, which
 * take about as long as each other and a few milliseconds for a few hundred KiB (the
 * highest brotli levels are for files compressed once, at build time).
 */
export function compress(body: Buffer, encoding: Encoding): Promise<Buffer> {
  return encoding === 'br' ? brotli(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length } }) : gzip(body, { level: 6 });
}

/** The body and headers to send for a JSON answer: compressed when it is large enough and the client takes it. */
export async function encodeAnswer(body: Buffer, accept: string | undefined): Promise<{ body: Buffer; headers: Record<string, string> }> {
  const encoding = body.length >= MIN_COMPRESS_BYTES ? pickEncoding(accept) : undefined;
  if (!encoding) return { body, headers: { vary: 'accept-encoding' } };
  return { body: await compress(body, encoding), headers: { 'content-encoding': encoding, vary: 'accept-encoding' } };
}
