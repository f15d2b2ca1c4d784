import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { Gate } from '../../api/gate';

describe('Gate', () => {
  it('runs at most its limit of tasks at once, the others in the order they came, and passes results and failures through', async () => {
    const gate = new Gate(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const task = (n: number) => async () => {
      started.push(n);
      most = Math.max(most, ++running);
      await nextTurn();
      await nextTurn();
      running--;
      if (n === 3) throw new Error('task 3 failed');
      return n * 10;
    };
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => gate.run(task(n))));

    expect(most).toBe(2);
    expect(started).toEqual([1, 2, 3, 4, 5, 6]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([10, 20, 'task 3 failed', 40, 50, 60]);
    // A failed task gave its place back: the gate takes two at once again.
    running = most = 0;
    await Promise.all([gate.run(task(7)), gate.run(task(8))]);
    expect(most).toBe(2);
  });
});
