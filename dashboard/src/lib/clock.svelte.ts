/**
 * One shared ticking "now" for every relative time on screen: a single timer instead of
 * one per row, and all cells change in the same frame.
 */
export class Clock {
  now = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(intervalMs = 1000) {
    this.#timer = setInterval(() => (this.now = Date.now()), intervalMs);
  }

  destroy() {
    clearInterval(this.#timer);
  }
}
