import { afterEach, describe, expect, it, vi } from 'vitest';
import { settler } from '../../dashboard/src/lib/settle';

afterEach(() => vi.useRealTimers());

describe('settling the status cards after a burst', () => {
  it('a burst of pokes asks the server once, after the delay', async () => {
    vi.useFakeTimers();
    const task = vi.fn(async () => {});
    const s = settler(task, 1000);
    for (let i = 0; i < 500; i++) s.poke();
    expect(task).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(task).toHaveBeenCalledTimes(1);
  });

  it('pokes during a run cause exactly one more run, so the last answer follows the last event', async () => {
    vi.useFakeTimers();
    let release!: () => void;
    const task = vi.fn(() => new Promise<void>((r) => (release = r)));
    const s = settler(task, 100);
    s.poke();
    await vi.advanceTimersByTimeAsync(100);
    s.poke();
    s.poke();
    release();
    await vi.advanceTimersByTimeAsync(100);
    expect(task).toHaveBeenCalledTimes(2);
    release();
    await vi.advanceTimersByTimeAsync(1000);
    expect(task).toHaveBeenCalledTimes(2);
  });

  it('cancel drops a pending run', async () => {
    vi.useFakeTimers();
    const task = vi.fn(async () => {});
    const s = settler(task, 100);
    s.poke();
    s.cancel();
    await vi.advanceTimersByTimeAsync(500);
    expect(task).not.toHaveBeenCalled();
  });
});
