import { FlushScheduler } from '../batching';
import { compareAgentIds, type HeartbeatRow, type HeartbeatWrite } from './liveness.store';

/**
 * What a flush wrote, in the order of the writes it was given: each write's row, or
 * undefined where no agent matched its id and token.
 */
export type FlushResult = (HeartbeatRow | undefined)[];

interface Pending {
  write: HeartbeatWrite;
  resolve(row: HeartbeatRow | undefined): void;
  reject(err: unknown): void;
}

/**
 * Coalesces heartbeats into one `UPDATE … FROM unnest(…)` per flush. A caller's
 * promise settles only after the statement's transaction has committed, so an
 * acknowledged heartbeat is never lost. Up to `maxInFlight` flushes run at once;
 * while they do, new heartbeats gather into the next, larger batch.
 */
export class HeartbeatBatcher {
  private queue: Pending[] = [];
  private readonly scheduler: FlushScheduler;

  constructor(
    private readonly opts: {
      flushMs: number;
      batchSize: number;
      maxInFlight: number;
      /** Writes one batch (already one entry per agent) and returns the rows it matched. */
      write(batch: HeartbeatWrite[]): Promise<FlushResult>;
    },
  ) {
    this.scheduler = new FlushScheduler({
      flushMs: opts.flushMs,
      maxInFlight: opts.maxInFlight,
      pending: () => this.queue.length > 0,
      full: () => this.queue.length >= opts.batchSize,
      flush: () => this.flush(),
    });
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves with the agent's row, or undefined when no agent matched id and token. */
  enqueue(write: HeartbeatWrite): Promise<HeartbeatRow | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      this.scheduler.schedule();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.opts.batchSize);
    // By agent, and within one agent in order of arrival (the sort is stable): the order in
    // which the statement locks their rows, and one agent's heartbeats side by side.
    batch.sort(byAgent);
    const { writes, slots } = mergeByToken(batch);
    try {
      const rows = await this.opts.write(writes);
      for (let i = 0; i < batch.length; i++) {
        // A few hundred answers at once would keep the event loop from reading requests
        // and the next batch's result for milliseconds: answer a slice, then let it run.
        if (i > 0 && i % ANSWER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        const { write, resolve } = batch[i];
        const kept = writes[slots[i]];
        const found = rows[slots[i]];
        const row = found?.tokenHash === write.tokenHash ? found : undefined;
        resolve(row && isOlder(write, kept) ? { ...row, stale: true } : row);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /** Writes whatever is queued; used on shutdown so no accepted heartbeat is dropped. */
  drain(): Promise<void> {
    return this.scheduler.drain();
  }
}

/**
 * Heartbeats answered between two turns of the event loop. Against 16, in interleaved
 * runs at 500 concurrent, 64 took about 7 % less server CPU per heartbeat, answered about
 * 7 % more of them a second and cut the p99 by a third (each turn between slices also
 * reads requests and other batches' results, so a batch's last answers waited several
 * turns). 256 and all at once did no better, and would hold the event loop through a
 * batch of 1 000 four and sixteen times as long.
 */
const ANSWER_SLICE = 64;

const byAgent = (x: Pending, y: Pending) => compareAgentIds(x.write, y.write);

/** Tokens of one agent in a batch looked through one by one; past them, a map. */
const TOKENS_SEARCHED = 8;

/**
 * One write per agent and token, from a batch sorted by agent: the latest (its highest
 * sequence, or without sequences its last arrival) speaks for all of that agent's
 * heartbeats with that token; the others are stale. Another token's heartbeats (forged,
 * or revoked) are written, and answered, on their own. `slots[i]` is the place in
 * `writes` of the write that answers `batch[i]`.
 */
function mergeByToken(batch: Pending[]): { writes: HeartbeatWrite[]; slots: number[] } {
  const writes: HeartbeatWrite[] = [];
  const slots = new Array<number>(batch.length);
  // Where the current agent's writes start in `writes`; past a few tokens for one agent
  // (forged ones cost nothing to send), its slots by token.
  let first = 0;
  let byToken: Map<string, number> | undefined;
  for (let i = 0; i < batch.length; i++) {
    const { write } = batch[i];
    if (writes.length === 0 || writes[writes.length - 1].agentId !== write.agentId) {
      first = writes.length;
      byToken = undefined;
      slots[i] = writes.push(write) - 1;
      continue;
    }
    let slot = first;
    if (byToken) slot = byToken.get(write.tokenHash) ?? writes.length;
    else while (slot < writes.length && writes[slot].tokenHash !== write.tokenHash) slot++;
    if (slot === writes.length) {
      writes.push(write);
      if (byToken) byToken.set(write.tokenHash, slot);
      else if (slot - first >= TOKENS_SEARCHED) byToken = new Map(writes.slice(first).map((w, k) => [w.tokenHash, first + k]));
    } else if (!isOlder(write, writes[slot])) writes[slot] = write;
    slots[i] = slot;
  }
  return { writes, slots };
}

const isOlder = (a: HeartbeatWrite, b: HeartbeatWrite) => a.sequence !== null && b.sequence !== null && a.sequence < b.sequence;
