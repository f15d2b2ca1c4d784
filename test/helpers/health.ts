import { Worker } from 'node:worker_threads';

type Report = { ready: true } | { slowestMs: number; probes: number } | { error: string };

/**
 * Runs `work` while asking /health again and again (`health-prober.cjs`), and returns the
 * slowest answer (ms) and how many were asked: a stalled event loop in the server shows
 * as one slow answer. The prober has a thread of its own and starts before `work`: when
 * the server is another process, nothing the test's thread does meanwhile (parsing a
 * 15 MiB answer, building a body, collecting garbage) can pass for a slow answer.
 */
export async function healthDuring<T>(baseUrl: string, work: () => Promise<T>): Promise<{ result: T; slowestMs: number; probes: number }> {
  const prober = new Worker(new URL('./health-prober.cjs', import.meta.url), { workerData: { url: baseUrl, timeoutMs: 10_000 } });
  const reports: Report[] = [];
  let wake = () => {};
  const failed = (error: string) => {
    reports.push({ error });
    wake();
  };
  prober.on('message', (report: Report) => {
    reports.push(report);
    wake();
  });
  prober.on('error', (err) => failed(String(err)));
  prober.on('exit', (code) => failed(`the prober exited with ${code}`));
  /** The next report (or the first failure), in the order they came. */
  const next = async (): Promise<Report> => {
    while (reports.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const report = reports.shift()!;
    if ('error' in report) throw new Error(`the /health prober failed: ${report.error}`);
    return report;
  };
  try {
    await next();
    const result = await work();
    prober.postMessage('stop');
    const { slowestMs, probes } = (await next()) as { slowestMs: number; probes: number };
    return { result, slowestMs, probes };
  } finally {
    await prober.terminate();
  }
}
