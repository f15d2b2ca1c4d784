import http from 'node:http';

/** One GET /health on a fresh connection; resolves with how long the answer took, in ms. */
function healthOnce(baseUrl: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(`${baseUrl}/health`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`/health answered ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/**
 * Runs `work` while asking /health again and again, one request after another, and
 * returns the slowest answer (ms) and how many were asked: a stalled event loop shows
 * as one slow answer.
 */
export async function healthDuring<T>(baseUrl: string, work: () => Promise<T>): Promise<{ result: T; slowestMs: number; probes: number }> {
  let done = false;
  let slowestMs = 0;
  let probes = 0;
  const probing = (async () => {
    while (!done || probes === 0) {
      slowestMs = Math.max(slowestMs, await healthOnce(baseUrl));
      probes++;
    }
  })();
  let result: T;
  try {
    result = await work();
  } finally {
    done = true;
    await probing;
  }
  return { result, slowestMs, probes };
}
