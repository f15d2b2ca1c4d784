import { describe, expect, it } from 'vitest';
import { HeartbeatBatcher, type FlushResult } from '../../api/liveness/heartbeat.batcher';
import { type HeartbeatRow, type HeartbeatWrite } from '../../api/liveness/liveness.store';
import { turnCounter } from '../helpers/turns';

const write = (n: number): HeartbeatWrite => ({ agentId: `agent-${n}`, tokenHash: 'x', health: 'healthy', message: null, sequence: 1 });
const rowOf = (w: HeartbeatWrite): HeartbeatRow => ({
  id: w.agentId,
  tokenHash: w.tokenHash,
  previousStatus: 'online',
  status: 'online',
  heartbeatIntervalSeconds: 30,
  configurationRevision: 0,
  offlineAt: new Date(0),
  stale: false,
});

/**
 * A batcher whose one flush writes everything queued (no timer in the way), recording each
 * batch; `rowFor` says what the write matched for each heartbeat (by default, everything).
 */
function batcher(writes: HeartbeatWrite[][], rowFor: (w: HeartbeatWrite) => HeartbeatRow | undefined = rowOf) {
  return new HeartbeatBatcher({
    flushMs: 0,
    batchSize: 10_000,
    maxInFlight: 1,
    write: async (batch): Promise<FlushResult> => {
      writes.push(batch);
      return batch.map(rowFor);
    },
  });
}

/** Only the agent's own token ('x') matches its row, as in the real statement. */
const ownTokenBatcher = (writes: HeartbeatWrite[][]) => batcher(writes, (w) => (w.tokenHash === 'x' ? rowOf(w) : undefined));

describe('heartbeat batcher', () => {
  it('answers every heartbeat of a large batch with its own row, in a few turns of the event loop rather than one', async () => {
    const writes: HeartbeatWrite[][] = [];
    const b = batcher(writes);
    const answeredAt: number[] = [];
    // Turns counted from the first answer on.
    let counter: ReturnType<typeof turnCounter> | undefined;
    const pending = Array.from({ length: 1000 }, (_, n) =>
      b.enqueue(write(n)).then((row) => {
        counter ??= turnCounter();
        answeredAt.push(counter.turns);
        return row;
      }),
    );
    const rows = await Promise.all(pending);
    counter?.stop();

    expect(writes).toHaveLength(1);
    expect(rows.map((r) => r?.id)).toEqual(Array.from({ length: 1000 }, (_, n) => `agent-${n}`));
    // Other work ran between the first answer and the last: the batch was not answered in one go.
    expect(answeredAt[0]).toBe(0);
    expect(answeredAt.at(-1)!).toBeGreaterThanOrEqual(10);
  });

  it('rejects every heartbeat of a batch whose write fails, and writes the next batch', async () => {
    let fail = true;
    const b = new HeartbeatBatcher({
      flushMs: 0,
      batchSize: 10_000,
      maxInFlight: 1,
      write: async (batch): Promise<FlushResult> => {
        if (fail) throw new Error('database went away');
        return batch.map(rowOf);
      },
    });
    const failed = await Promise.allSettled([b.enqueue(write(1)), b.enqueue(write(2))]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect((await b.enqueue(write(3)))?.id).toBe('agent-3');
  });

  it('merges one agent’s heartbeats per token: another token’s higher sequence neither replaces the agent’s own nor shares its answer', async () => {
    const writes: HeartbeatWrite[][] = [];
    const b = ownTokenBatcher(writes);
    const own = { ...write(1), sequence: 5 };
    const [forged, older, answer] = await Promise.all([
      b.enqueue({ ...own, tokenHash: 'forged', sequence: 2_000_000_000 }),
      b.enqueue({ ...own, sequence: 4 }),
      b.enqueue(own),
    ]);
    expect(writes).toHaveLength(1);
    expect(writes[0].map((w) => [w.tokenHash, w.sequence])).toEqual([
      ['forged', 2_000_000_000],
      ['x', 5],
    ]);
    expect(forged).toBeUndefined();
    expect(answer).toMatchObject({ id: 'agent-1', stale: false });
    expect(older).toMatchObject({ id: 'agent-1', stale: true });
  });

  it('writes a shuffled batch as one write per agent and token, in id order, and answers each heartbeat from its own', async () => {
    const writes: HeartbeatWrite[][] = [];
    const b = ownTokenBatcher(writes);
    // Fifty agents, each with sequences 1 to 3, every fifth with a forged heartbeat too; shuffled.
    const heartbeats: HeartbeatWrite[] = [];
    for (let n = 0; n < 50; n++) {
      for (const sequence of [1, 2, 3]) heartbeats.push({ ...write(n), sequence });
      if (n % 5 === 0) heartbeats.push({ ...write(n), tokenHash: 'forged', sequence: 9 });
    }
    const shuffled = heartbeats.map((_, i) => heartbeats[(i * 7919) % heartbeats.length]);
    expect(new Set(shuffled).size).toBe(heartbeats.length);
    const answers = await Promise.all(shuffled.map((h) => b.enqueue(h)));

    expect(writes).toHaveLength(1);
    const ids = writes[0].map((w) => w.agentId);
    expect(ids).toEqual([...ids].sort());
    const expected = Array.from({ length: 50 }, (_, n) => [`agent-${n}:x:3`, ...(n % 5 === 0 ? [`agent-${n}:forged:9`] : [])]).flat();
    expect(writes[0].map((w) => `${w.agentId}:${w.tokenHash}:${w.sequence}`).sort()).toEqual(expected.sort());
    shuffled.forEach((h, i) => {
      if (h.tokenHash === 'forged') expect(answers[i], `${h.agentId} forged`).toBeUndefined();
      else expect(answers[i], `${h.agentId} ${h.sequence}`).toMatchObject({ id: h.agentId, tokenHash: 'x', stale: h.sequence! < 3 });
    });
  });

  it('keeps an agent’s own heartbeat apart from fifty forged tokens for it in the same batch', async () => {
    const writes: HeartbeatWrite[][] = [];
    const b = ownTokenBatcher(writes);
    const forged = Array.from({ length: 50 }, (_, n) => ({ ...write(1), tokenHash: `forged-${n}`, sequence: 100 }));
    // Each forged token twice, the agent's own between them with sequences 5 and 4.
    const sent = [...forged, { ...write(1), sequence: 5 }, ...forged, { ...write(1), sequence: 4 }];
    const answers = await Promise.all(sent.map((w) => b.enqueue(w)));
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveLength(51);
    expect(writes[0].filter((w) => w.tokenHash === 'x')).toEqual([{ ...write(1), sequence: 5 }]);
    expect(answers.filter((a) => a !== undefined)).toHaveLength(2);
    expect(answers[50]).toMatchObject({ id: 'agent-1', stale: false });
    expect(answers[101]).toMatchObject({ id: 'agent-1', stale: true });
  });

  it('answers a heartbeat only from a row written for its own token', async () => {
    // A write that (wrongly) returns the agent's row whatever token asked: the batcher still hands it to no other token.
    const b = new HeartbeatBatcher({
      flushMs: 0,
      batchSize: 10_000,
      maxInFlight: 1,
      write: async (batch): Promise<FlushResult> => batch.map((w) => rowOf({ ...w, tokenHash: 'x' })),
    });
    const [forged, own] = await Promise.all([b.enqueue({ ...write(1), tokenHash: 'forged' }), b.enqueue(write(2))]);
    expect(forged).toBeUndefined();
    expect(own).toMatchObject({ id: 'agent-2', tokenHash: 'x' });
  });
});
