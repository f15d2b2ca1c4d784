// The /health prober of health.ts, on a thread of its own: asks GET /health again and
// again, each on a fresh connection and one after another. After its first answer it
// posts 'ready' and starts counting; told to stop, it posts the slowest answer (ms) and
// how many it counted, at least one.
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');

const { url, timeoutMs } = workerData;
let stopping = false;
parentPort.once('message', () => (stopping = true));

function probe() {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.get(`${url}/health`, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`/health answered ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`/health did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

(async () => {
  try {
    await probe();
    parentPort.postMessage({ ready: true });
    let slowestMs = 0;
    let probes = 0;
    while (!stopping || probes === 0) {
      slowestMs = Math.max(slowestMs, await probe());
      probes++;
    }
    parentPort.postMessage({ slowestMs, probes });
  } catch (err) {
    parentPort.postMessage({ error: String(err) });
  }
})();
