import { pgErrorCode } from '../db';
// deadlock_detected, serialization_failure: the transaction did nothing and may simply run again.
const RETRYABLE = new Set(['40P01', '40001']);

export async function withRetry<T>(run: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (err) {
      const code = pgErrorCode(err);
      if (i >= attempts || !code || !RETRYABLE.has(code)) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * i));
    }
  }
}
