import { FlushScheduler } from '../batching';
import { heartbeatKey, type HeartbeatRow, type HeartbeatWrite } from './liveness.store';

/**
 * The rows a flush wrote, by agent id: a row is written only for the token its agent
 * holds, so an agent has one row at most, and it answers only heartbeats with that token.
 */
export type FlushResult = Map<string, HeartbeatRow>;

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
    // One entry per agent and token: its highest sequence (or, without sequences, its latest
    // arrival) speaks for all of that agent's heartbeats with that token in this batch; the
    // others are stale. Another token's heartbeats (forged, or revoked) are written, and
    // answered, on their own. Keyed by agent id alone unless the batch holds two tokens for
    // one agent: a composite key for every heartbeat cost a string and its hash each.
    let keyOf = byAgent;
    let latest = latestOf(batch, keyOf);
    if (!latest) latest = latestOf(batch, (keyOf = byAgentAndToken))!;
    try {
      const rows = await this.opts.write([...latest.values()]);
      for (let i = 0; i < batch.length; i++) {
        // A few hundred answers at once would keep the event loop from reading requests
        // and the next batch's result for milliseconds: answer a slice, then let it run.
        if (i > 0 && i % ANSWER_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
        const { write, resolve } = batch[i];
        const found = rows.get(write.agentId);
        const row = found?.tokenHash === write.tokenHash ? found : undefined;
        resolve(row && isOlder(write, latest.get(keyOf(write))!) ? { ...row, stale: true } : row);
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

/** Heartbeats answered between two turns of the event loop (16 measured best of 16, 64 and all at once). */
const ANSWER_SLICE = 16;

const byAgent = (w: HeartbeatWrite) => w.agentId;
const byAgentAndToken = (w: HeartbeatWrite) => heartbeatKey(w.agentId, w.tokenHash);

/** Each key's latest write; undefined when keyed by agent and one agent has heartbeats with two tokens. */
function latestOf(batch: Pending[], keyOf: (w: HeartbeatWrite) => string): Map<string, HeartbeatWrite> | undefined {
  const latest = new Map<string, HeartbeatWrite>();
  for (const { write } of batch) {
    const key = keyOf(write);
    const kept = latest.get(key);
    if (kept && kept.tokenHash !== write.tokenHash) return undefined;
    if (!kept || !isOlder(write, kept)) latest.set(key, write);
  }
  return latest;
}

const isOlder = (a: HeartbeatWrite, b: HeartbeatWrite) => a.sequence !== null && b.sequence !== null && a.sequence < b.sequence;
