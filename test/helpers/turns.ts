/** Counts turns of the event loop from now on, until stopped. */
export function turnCounter(): { readonly turns: number; stop(): void } {
  let turns = 0;
  let counting = true;
  const tick = () => {
    turns++;
    if (counting) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    get turns() {
      return turns;
    },
    stop: () => void (counting = false),
  };
}

/** Runs `work` while counting turns of the event loop; resolves with its result and how many turns passed before it settled. */
export async function countingTurns<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  const counter = turnCounter();
  try {
    return { result: await work(), turns: counter.turns };
  } finally {
    counter.stop();
  }
}
