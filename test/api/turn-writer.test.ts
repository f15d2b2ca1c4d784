import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_UNSENT_BYTES, SENDS_PER_TURN, TurnWriter } from '../../api/http/turn-writer';

/**
 * A connection that records each system-call-sized write (one chunk, or one writev of
 * several) and holds its callbacks while `stalled`, like a client that stopped reading.
 */
function connection() {
  const writes: string[][] = [];
  let stalled = false;
  const held: (() => void)[] = [];
  const finish = (cb: () => void) => (stalled ? held.push(cb) : cb());
  const conn = new Writable({
    highWaterMark: 1 << 30,
    write(chunk: Buffer, _enc, cb) {
      writes.push([chunk.toString()]);
      finish(() => cb());
    },
    writev(chunks, cb) {
      writes.push(chunks.map((c) => String(c.chunk)));
      finish(() => cb());
    },
  });
  // What ws does with a message: writes its frame to the connection, calling back once written.
  const ws = { send: (data: string, cb?: (err?: Error) => void) => void conn.write(data, () => cb?.()) };
  return {
    writer: new TurnWriter(ws as never, conn),
    writes,
    stall: () => (stalled = true),
    resume: () => {
      stalled = false;
      for (const cb of held.splice(0)) cb();
    },
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnWriter: a socket’s messages of one turn of the event loop in one write', () => {
  it('writes a lone message at once, and the rest of a burst together when the turn ends', async () => {
    const { writer, writes } = connection();
    expect(writer.send('a')).toBeUndefined();
    expect(writes).toEqual([['a']]);

    for (const m of ['b', 'c', 'd']) expect(writer.send(m)).toBeUndefined();
    expect(writes).toEqual([['a']]);
    await turn();
    expect(writes).toEqual([['a'], ['b', 'c', 'd']]);

    // The next turn starts afresh: its first message goes at once again.
    writer.send('e');
    expect(writes.at(-1)).toEqual(['e']);
  });

  it(`makes the ${SENDS_PER_TURN}th send of a turn wait until the burst is written`, async () => {
    const { writer, writes } = connection();
    const results = Array.from({ length: SENDS_PER_TURN }, (_, i) => writer.send(`m${i}`));
    expect(results.slice(0, -1).every((r) => r === undefined)).toBe(true);
    const last = results.at(-1);
    expect(last).toBeInstanceOf(Promise);
    let settled = false;
    void last!.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await last;
    expect(writes.flat()).toEqual(Array.from({ length: SENDS_PER_TURN }, (_, i) => `m${i}`));
  });

  it(`makes sends wait for a client that stops reading once ${MAX_UNSENT_BYTES} bytes are unsent`, async () => {
    const { writer, stall, resume } = connection();
    stall();
    const big = 'x'.repeat(16 * 1024);
    writer.send(big);
    await turn();
    // Each turn's first message is written at once; the stalled client leaves it unsent.
    let waiting: Promise<void> | undefined;
    let sent = 1;
    while (!waiting && sent < 100) {
      waiting = writer.send(big);
      sent++;
      await turn();
    }
    expect(waiting).toBeInstanceOf(Promise);
    expect(sent).toBe(Math.ceil(MAX_UNSENT_BYTES / big.length) + 1);
    let settled = false;
    void waiting!.then(() => (settled = true));
    await turn();
    expect(settled).toBe(false);
    resume();
    await waiting;
    expect(settled).toBe(true);
  });
});
