import type { Clock } from '../clock';
import type { Db } from '../db';
import { keyStore } from './keys.store';
import type { ApiKeyRole, ApiKeyRow } from './keys.table';

/** What a request needs of its key. */
export interface KeyEntry {
  id: string;
  name: string;
  role: ApiKeyRole;
  expiresAt: Date | null;
  revokedAt: Date | null;
  defaultTags: string[];
  defaultEnvironment: string | null;
}

const entry = (r: ApiKeyRow): KeyEntry => ({
  id: r.id,
  name: r.name,
  role: r.role,
  expiresAt: r.expiresAt,
  revokedAt: r.revokedAt,
  defaultTags: r.defaultTags,
  defaultEnvironment: r.defaultEnvironment,
});

/**
 * Every API key by the hash of its secret, in memory, so a request is authenticated
 * without a query. Each replica reads the whole table again every `refreshMs` (a few
 * rows; one query), and at once after a change of its own: a key revoked on any replica
 * stops working everywhere within that interval. Expiry is checked on each request.
 *
 * Use is recorded in memory and written at most once per `touchEveryMs` per key, in one
 * statement for all keys, on the refresh that follows.
 */
export class KeyRing {
  private byHash = new Map<string, KeyEntry>();
  private byId = new Map<string, KeyEntry>();
  private readonly listeners = new Set<() => void>();
  private readonly pending = new Map<string, Date>();
  private readonly written = new Map<string, number>();
  private refreshing: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly opts: { refreshMs: number; touchEveryMs?: number; onError: (err: unknown) => void },
  ) {}

  find(tokenHash: string): KeyEntry | undefined {
    return this.byHash.get(tokenHash);
  }

  /** Whether a key may be used now: known, not revoked, not expired. */
  inForce(id: string): boolean {
    const key = this.byId.get(id);
    return key !== undefined && key.revokedAt === null && (key.expiresAt === null || key.expiresAt > this.clock.now());
  }

  /** Calls `listener` after every refresh (to end what a key that is no longer in force holds open); returns the unsubscribe. */
  onRefresh(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Notes that a key was used now; written later, at most once per interval. */
  markUsed(key: KeyEntry): void {
    // Wall time: a last-use record needs no test clock, and authentication stays free of it.
    const now = new Date();
    if (now.getTime() - (this.written.get(key.id) ?? -Infinity) < (this.opts.touchEveryMs ?? 60_000)) return;
    this.pending.set(key.id, now);
  }

  /**
   * Reads the table again (and writes pending last-used times). Calls made while one
   * runs are served by one more run after it, so a caller always sees what was
   * committed before it called.
   */
  refresh(): Promise<void> {
    if (!this.refreshing) return this.run();
    return (this.next ??= this.refreshing
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.run();
      }));
  }

  private run(): Promise<void> {
    this.refreshing = (async () => {
      const rows = await keyStore.all(this.db);
      const entries = rows.map((r) => [r.tokenHash, entry(r)] as const);
      this.byHash = new Map(entries);
      this.byId = new Map(entries.map(([, e]) => [e.id, e]));
      for (const listener of this.listeners) listener();
      await this.flush();
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const used = new Map(this.pending);
    this.pending.clear();
    // Counted as written before the write, so uses meanwhile wait for the next minute.
    const before = new Map([...used.keys()].map((id) => [id, this.written.get(id)]));
    for (const [id, at] of used) this.written.set(id, at.getTime());
    try {
      await keyStore.touch(this.db, used);
    } catch (err) {
      // Tried again on the next refresh, unless a newer use replaced it meanwhile.
      for (const [id, at] of used) {
        const was = before.get(id);
        if (was === undefined) this.written.delete(id);
        else this.written.set(id, was);
        if (!this.pending.has(id)) this.pending.set(id, at);
      }
      throw err;
    }
  }

  start(): void {
    this.timer = setInterval(() => this.refresh().catch(this.opts.onError), this.opts.refreshMs);
    this.timer.unref();
  }

  /**
   * Stops refreshing. Uses noted since the last refresh (at most `refreshMs` ago) are not
   * written: a shutdown does not wait on a database that may be away.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing?.catch(() => undefined);
  }
}
