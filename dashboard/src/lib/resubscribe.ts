/** The first wait before a failed subscription is opened again; it doubles up to RETRY_MAX_MS. */
export const RETRY_FIRST_MS = 1000;
export const RETRY_MAX_MS = 30_000;

interface Result {
  data?: unknown;
  error?: unknown;
}
type Start<R> = (onResult: (result: R) => void) => { unsubscribe(): void };

/**
 * One subscription kept open. The server may end a stream with an error (agentHeartbeats
 * does, with RATE_LIMITED, for a subscriber too far behind), after which urql reports
 * nothing more: on an error this opens the same subscription again after RETRY_FIRST_MS,
 * twice as long after each further error (up to RETRY_MAX_MS), and back to the first wait
 * once a result arrives without one. A replacement is always opened before the one it
 * replaces is closed, so the server never sees a moment without it.
 */
export class Resubscriber<R extends Result> {
  #onResult: (result: R) => void;
  #start: Start<R> | undefined;
  #current: { unsubscribe(): void } | undefined;
  /** Which opening is current: errors from one already replaced are ignored. */
  #generation = 0;
  #failures = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(onResult: (result: R) => void) {
    this.#onResult = onResult;
  }

  /** Opens `start` (a urql subscription), then closes the subscription it replaces. */
  open(start: Start<R>) {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#start = start;
    const generation = ++this.#generation;
    const previous = this.#current;
    this.#current = start((result) => {
      if (result.error) {
        if (generation === this.#generation) this.#retrySoon();
      } else if (generation === this.#generation) {
        this.#failures = 0;
      }
      if (result.data) this.#onResult(result);
    });
    previous?.unsubscribe();
  }

  close() {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#generation++;
    this.#start = undefined;
    this.#current?.unsubscribe();
    this.#current = undefined;
  }

  #retrySoon() {
    if (this.#retryTimer || !this.#start) return;
    const wait = Math.min(RETRY_FIRST_MS * 2 ** this.#failures, RETRY_MAX_MS);
    this.#failures++;
    const start = this.#start;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.open(start);
    }, wait);
  }
}
