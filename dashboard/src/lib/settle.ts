/**
 * Runs `task` once, `delayMs` after the first poke of a quiet period; pokes that arrive
 * while it runs schedule exactly one more run. A burst of 1 000 events thus costs two
 * requests, and the last answer is never older than the last event.
 */
export function settler(task: () => Promise<void>, delayMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running = false;
  let dirty = false;

  const run = async () => {
    timer = undefined;
    dirty = false;
    running = true;
    try {
      await task();
    } finally {
      running = false;
      if (dirty) poke();
    }
  };

  function poke() {
    dirty = true;
    if (running || timer) return;
    timer = setTimeout(run, delayMs);
  }

  return {
    poke,
    cancel() {
      clearTimeout(timer);
      timer = undefined;
      dirty = false;
    },
  };
}
