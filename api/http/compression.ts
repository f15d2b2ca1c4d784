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

/**
 * Compresses an answer made on the fly, part by part: brotli at quality 4 and gzip at
 * level 6, which take about as long as each other and a few milliseconds for a few
 * hundred KiB (the highest brotli levels are for files compressed once, at build time).
 */
export function compress(parts: Buffer[], encoding: Encoding, size: number): Promise<Buffer[]> {
  const stream = encoding === 'br' ? zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size } }) : zlib.createGzip({ level: 6 });
  const out: Buffer[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => out.push(chunk));
    stream.once('end', () => resolve(out));
    stream.once('error', reject);
    for (const part of parts) stream.write(part);
    stream.end();
  });
}

/**
 * The parts, their length and the headers to send for a JSON answer: compressed when it
 * is large enough and the client takes it (`encoding` says so), as they are otherwise.
 */
export async function encodeAnswer(
  parts: Buffer[],
  accept: string | undefined,
): Promise<{ parts: Buffer[]; length: number; encoding?: Encoding; headers: Record<string, string> }> {
  const size = byteLength(parts);
  const encoding = size >= MIN_COMPRESS_BYTES ? pickEncoding(accept) : undefined;
  if (!encoding) return { parts, length: size, headers: { vary: 'accept-encoding' } };
  const compressed = await compress(parts, encoding, size);
  return { parts: compressed, length: byteLength(compressed), encoding, headers: { 'content-encoding': encoding, vary: 'accept-encoding' } };
}

const byteLength = (parts: Buffer[]) => parts.reduce((n, part) => n + part.length, 0);
