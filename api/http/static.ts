import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { acceptedEncodings, type Encoding } from './compression';

export const DASHBOARD_DIST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dashboard/dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

const PLACEHOLDER = `<!doctype html><meta charset="utf-8"><title>Agent Monitor</title>
<p>The dashboard has not been built yet. Run <code>npm run build</code>, or start the server with <code>npm start</code>, which builds it first.</p>`;

/** Files the build compressed beside themselves (dashboard/build/precompress.ts). */
const PRECOMPRESSED = new Set(['.html', '.js', '.css', '.svg', '.json', '.map']);
const SUFFIX = { br: '.br', gzip: '.gz' } as const;

/** The precompressed twin to send instead of `file`, if the client takes its encoding and the build made it. */
async function twinOf(file: string, accept: string | undefined): Promise<{ path: string; size: number; encoding: Encoding } | undefined> {
  if (!PRECOMPRESSED.has(path.extname(file))) return undefined;
  for (const e of acceptedEncodings(accept)) {
    try {
      const stat = await fs.promises.stat(file + SUFFIX[e]);
      if (stat.isFile()) return { path: file + SUFFIX[e], size: stat.size, encoding: e };
    } catch {
      // not compressed at build time (too small to gain): the file itself
    }
  }
  return undefined;
}

/**
 * Serves the built dashboard under /dashboard. Unknown paths without a file extension
 * get index.html, so client-side routes survive a reload. Hashed assets are cached for
 * a year; each compressible file goes as its brotli or gzip twin when the client takes one.
 */
export async function serveDashboard(pathname: string, res: ServerResponse, root = DASHBOARD_DIST, acceptEncoding?: string): Promise<void> {
  const relative = decodeURIComponent(pathname.replace(/^\/dashboard\/?/, ''));
  const file = path.resolve(root, relative || 'index.html');
  if (!file.startsWith(root + path.sep) && file !== root) {
    res.writeHead(404).end();
    return;
  }
  const candidates = path.extname(file) ? [file] : [file, path.join(root, 'index.html')];
  for (const candidate of candidates) {
    try {
      const stat = await fs.promises.stat(candidate);
      if (!stat.isFile()) continue;
      const immutable = candidate.includes(`${path.sep}assets${path.sep}`);
      const twin = await twinOf(candidate, acceptEncoding);
      res.writeHead(200, {
        'content-type': TYPES[path.extname(candidate)] ?? 'application/octet-stream',
        'content-length': twin?.size ?? stat.size,
        'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        ...(PRECOMPRESSED.has(path.extname(candidate)) ? { vary: 'accept-encoding' } : {}),
        ...(twin ? { 'content-encoding': twin.encoding } : {}),
      });
      fs.createReadStream(twin?.path ?? candidate).pipe(res);
      return;
    } catch {
      // try the next candidate
    }
  }
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PLACEHOLDER);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
}
