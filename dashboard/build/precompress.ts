import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

/** Files the server may send compressed (api/http/static.ts serves the twins). */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.map']);
/** Below this a file gains too little to be worth a second request path. */
const MIN_BYTES = 1024;

/**
 * Writes `file.br` (brotli, quality 11) and `file.gz` (gzip, level 9) beside each
 * compressible file of the build, once, so the server never compresses its own files
 * per request and sends the smallest it can. A twin that would not be smaller is left out.
 */
export function precompress(dir: string): { files: number; bytes: number; br: number; gz: number } {
  const totals = { files: 0, bytes: 0, br: 0, gz: 0 };
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (COMPRESSIBLE.has(path.extname(file)) && statSync(file).size >= MIN_BYTES) {
        const raw = readFileSync(file);
        const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
        const gz = gzipSync(raw, { level: 9 });
        totals.files++;
        totals.bytes += raw.length;
        if (br.length < raw.length) (writeFileSync(`${file}.br`, br), (totals.br += br.length));
        if (gz.length < raw.length) (writeFileSync(`${file}.gz`, gz), (totals.gz += gz.length));
      }
    }
  };
  walk(dir);
  return totals;
}

/** Precompresses the build's output once it is written. */
export function precompressPlugin(): Plugin {
  let outDir = '';
  return {
    name: 'agent-monitor-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const t = precompress(outDir);
      const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
      this.info?.(`precompressed ${t.files} files: ${kb(t.bytes)} → brotli ${kb(t.br)}, gzip ${kb(t.gz)}`);
    },
  };
}
