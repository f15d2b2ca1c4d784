/** Random helpers of the simulated agents; `random` is injectable so tests can pin it. */
export type Random = () => number;

export const between = (random: Random, [min, max]: readonly [number, number]) => min + random() * (max - min);

/** The nominal interval stretched or shrunk by up to ±`jitter` (0.1 = ±10 %). */
export const jittered = (random: Random, ms: number, jitter: number) => ms * (1 - jitter + 2 * jitter * random());

/**
 * "Full jitter" exponential backoff: anywhere from 0 to min(cap, base·2^attempt), so
 * agents refused together do not come back together. `attempt` counts from 1.
 */
export const fullJitter = (random: Random, attempt: number, baseMs: number, capMs: number) =>
  random() * Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 30));

/**
 * Seconds from a Retry-After header (delta-seconds or an HTTP date), in ms; undefined
 * when absent or unreadable.
 */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * A sleep that an AbortSignal ends early (resolving, not rejecting: stopping is not an
 * error). `Infinity` waits for the abort alone.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
    signal.addEventListener('abort', done, { once: true });
  });
}
