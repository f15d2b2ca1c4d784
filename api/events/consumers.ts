import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { Db } from '../db';
import type { EventBus } from './bus';
import { consumerStore } from './consumers.store';
import type { EventLog } from './events.log';
import type { EventRecord } from './events.types';
import { ORIGIN } from './position';

export interface ConsumerDefinition {
  /** Stable across releases: the position is stored under it. */
  name: string;
  /** Subject kinds it handles; events of other kinds are passed over (its position still moves). */
  kinds?: string[];
  /** Where a consumer that has never run starts: the first event ever, or the newest. */
  startAt: 'beginning' | 'end';
  batchSize?: number;
  /**
   * False: the handler is given its events without their payloads (null), for one that
   * reads what it needs of them in the database rather than decoding every payload here.
   */
  payloads?: boolean;
  /**
   * Handles a batch inside `tx`, the transaction that then advances the position: the
   * handler's writes and the new position commit together or not at all, so each
   * event's effects happen exactly once, whichever replica runs it and however it dies.
   * `tx` has written nothing yet, so a handler that appends events can lock their
   * subjects first (EventLog.lockSubjects).
   */
  handle(tx: Db, events: EventRecord[]): Promise<void>;
}

export interface ConsumerDeps {
  db: Db;
  log: EventLog;
  bus: EventBus;
  clock: Clock;
  /** How long a lease lasts unless renewed; a replica that dies is replaced after about this long. */
  leaseMs: number;
  /** This replica, as lease owner. */
  replicaId: string;
  onError(consumer: string, err: unknown): void;
  /**
   * Work of this replica that goes before any consumer's: while it runs (the promise it
   * returns), no batch begins. Consumers derive from what that work records, and sharing
   * the database and the CPU with it would delay the very events they wait for.
   */
  urgent?(): Promise<unknown> | undefined;
}

export interface ConsumerLag {
  name: string;
  /** The replica holding the lease, if any holds a live one. */
  owner: string | null;
  handled: bigint;
  /** Events appended after its position (counted up to a cap). */
  behindEvents: number;
  /** Age of the oldest event it has not handled, 0 when it is caught up. */
  behindSeconds: number;
}

const DEFAULT_BATCH = 500;
const HELD_RETRY_MS = 20;
const FAILURE_BACKOFF_MS = [200, 1_000, 5_000, 30_000];

class LostLease extends Error {}

/**
 * Runs one durable consumer on this replica: while another replica holds its lease it
 * waits, trying to take the lease every fraction of its length; while this replica
 * holds it, each signal from the bus makes it handle every event after its position,
 * batch by batch. Each batch locks the consumer's row first, so even two replicas that
 * both believed they held the lease would take turns and never handle an event twice.
 */
export class DurableConsumer {
  private owner = false;
  /** The position as of this replica's last batch. */
  private position = ORIGIN;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private renewTimer?: NodeJS.Timeout;

  constructor(
    readonly definition: ConsumerDefinition,
    private readonly deps: ConsumerDeps,
  ) {}

  /** Whether this replica holds the lease (as of its last look). */
  get active(): boolean {
    return this.owner;
  }

  async start(): Promise<void> {
    const { db, log, bus, leaseMs } = this.deps;
    await consumerStore.ensure(db, this.definition.name, this.definition.startAt === 'end' ? await log.head() : ORIGIN);
    bus.onSignal(() => {
      if (this.owner) this.wake();
    });
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, leaseMs / 3)).unref();
    this.wake();
  }

  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private later(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const { db, log, leaseMs, replicaId } = this.deps;
    const { name } = this.definition;
    try {
      if (!this.owner) this.owner = await consumerStore.acquire(db, name, replicaId, leaseMs);
      if (!this.owner) return this.later(Math.min(1_000, Math.max(50, leaseMs / 4)));
      for (;;) {
        await this.deps.urgent?.();
        if (this.stopped || (await this.batch()) < (this.definition.batchSize ?? DEFAULT_BATCH)) break;
      }
      this.failures = 0;
      if (!this.stopped && (await log.heldBack(this.position))) this.later(HELD_RETRY_MS);
    } catch (err) {
      if (err instanceof LostLease) {
        this.owner = false;
        return this.later(0);
      }
      this.deps.onError(name, err);
      this.later(FAILURE_BACKOFF_MS[Math.min(this.failures++, FAILURE_BACKOFF_MS.length - 1)]);
    }
  }

  /** One batch in one transaction; returns how many events it moved past. */
  private async batch(): Promise<number> {
    const { db, log, leaseMs, replicaId } = this.deps;
    const { name, kinds, batchSize = DEFAULT_BATCH, payloads = true } = this.definition;
    const selection = !payloads ? { payloadOf: [] } : kinds && { payloadOf: kinds };
    return db.transaction(async (tx) => {
      const row = await consumerStore.lock(tx, name);
      if (!row || row.owner !== replicaId) throw new LostLease();
      this.position = row.position;
      const events = await log.after(row.position, batchSize, selection, tx);
      if (events.length === 0) return 0;
      const mine = kinds ? events.filter((e) => kinds.includes(e.kind)) : events;
      if (mine.length > 0) await this.definition.handle(tx, mine);
      const last = events[events.length - 1].position;
      await consumerStore.advance(tx, name, last, mine.length, replicaId, leaseMs);
      this.position = last;
      return events.length;
    });
  }

  private async renew(): Promise<void> {
    if (!this.owner || this.stopped) return;
    try {
      if (!(await consumerStore.renew(this.deps.db, this.definition.name, this.deps.replicaId, this.deps.leaseMs))) this.owner = false;
    } catch (err) {
      this.deps.onError(this.definition.name, err);
    }
    if (!this.owner) this.wake();
  }

  /** Stops after the batch in progress and hands the lease back, so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.renewTimer);
    await this.running;
    if (this.owner) {
      this.owner = false;
      await consumerStore.release(this.deps.db, this.definition.name, this.deps.replicaId).catch((err) => this.deps.onError(this.definition.name, err));
    }
  }
}

/** Every durable consumer of this replica. */
export class Consumers {
  private readonly list: DurableConsumer[] = [];
  readonly replicaId: string;

  constructor(private readonly deps: Omit<ConsumerDeps, 'replicaId'> & { replicaId?: string }) {
    this.replicaId = deps.replicaId ?? randomUUID();
  }

  get all(): readonly DurableConsumer[] {
    return this.list;
  }

  register(definition: ConsumerDefinition): DurableConsumer {
    if (this.list.some((c) => c.definition.name === definition.name)) throw new Error(`consumer ${definition.name} is registered twice`);
    const consumer = new DurableConsumer(definition, { ...this.deps, replicaId: this.replicaId });
    this.list.push(consumer);
    return consumer;
  }

  async start(): Promise<void> {
    for (const c of this.list) await c.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.list.map((c) => c.stop()));
  }

  /** Each consumer's lag, for /metrics and the operators. */
  async lag(): Promise<ConsumerLag[]> {
    const now = this.deps.clock.now().getTime();
    return (await consumerStore.lag(this.deps.db)).map((r) => ({
      name: r.name,
      owner: r.leaseLive ? r.owner : null,
      handled: r.handled,
      behindEvents: r.behind,
      behindSeconds: r.oldestWaiting ? Math.max(0, (now - r.oldestWaiting.getTime()) / 1000) : 0,
    }));
  }
}
