/**
 * Collects the keys asked for within one tick and fetches them with one call, so a
 * list of agents reads all their tags in a single query.
 */
export class BatchLoader<K, V> {
  private pending = new Map<K, { resolve(v: V): void; reject(e: unknown): void }[]>();

  constructor(
    private readonly fetch: (keys: K[]) => Promise<Map<K, V>>,
    private readonly missing: V,
  ) {}

  load(key: K): Promise<V> {
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) process.nextTick(() => void this.dispatch());
      const waiters = this.pending.get(key) ?? [];
      waiters.push({ resolve, reject });
      this.pending.set(key, waiters);
    });
  }

  private async dispatch(): Promise<void> {
    const batch = this.pending;
    this.pending = new Map();
    try {
      const values = await this.fetch([...batch.keys()]);
      for (const [key, waiters] of batch) for (const w of waiters) w.resolve(values.get(key) ?? this.missing);
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    }
  }
}
