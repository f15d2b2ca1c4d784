import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/**
 * The prober: asks GET /health again and again, each on a fresh connection and one after
 * another, until told to stop; then posts the slowest answer (ms) and how many it asked.
 * It runs on a thread of its own, so what the test's own thread does meanwhile (parsing
 * a 15 MiB answer, building a body, collecting garbage) cannot show as a slow answer.
 */
const PROBER = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
let stopping = false;
parentPort.once('message', () => (stopping = true));
const once = () => new Promise((resolve, reject) => {
  const started = performance.now();
  http.get(workerData + '/health', { agent: false }, (res) => {
    res.resume();
    res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error('/health answered ' + res.statusCode))));
  }).on('error', reject);
});
(async () => {
  let slowestMs = 0;
  let probes = 0;
  try {
    while (!stopping || probes === 0) {
      slowestMs = Math.max(slowestMs, await once());
      probes++;
    }
    parentPort.postMessage({ slowestMs, probes });
  } catch (err) {
    parentPort.postMessage({ error: String(err) });
  }
})();
`;

/**
 * Runs `work` while asking /health again and again from another thread, and returns
 * the slowest answer (ms) and how many were asked: a stalled event loop in the server
 * shows as one slow answer.
 */
export async function healthDuring<T>(baseUrl: string, work: () => Promise<T>): Promise<{ result: T; slowestMs: number; probes: number }> {
  const prober = new Worker(PROBER, { eval: true, workerData: baseUrl });
  const report = once(prober, 'message') as Promise<[{ slowestMs: number; probes: number } | { error: string }]>;
  let result: T;
  try {
    result = await work();
  } finally {
    prober.postMessage('stop');
    await report.catch(() => undefined);
    await prober.terminate();
  }
  const [answer] = await report;
  if ('error' in answer) throw new Error(`the /health prober failed: ${answer.error}`);
  return { result, ...answer };
}
