import { describe, expect, it } from 'vitest';
import { SampleWriter, type SampleBatch } from '../../api/metrics/sample.writer';

/** The sample writer's statements, against an insert that records them. */
function writer(maxSamples: number, fail?: (batch: SampleBatch) => boolean) {
  const inserts: SampleBatch[] = [];
  const w = new SampleWriter({
    flushMs: 1,
    maxSamples,
    maxInFlight: 1,
    insert: async (batch) => {
      if (fail?.(batch)) throw new Error('insert failed');
      inserts.push(batch);
    },
    markLate: async () => {},
    markCompacted: async () => {},
    compactAfterMs: 3_600_000,
    ensurePartitions: async () => {},
    now: () => 0,
  });
  return { w, inserts };
}

const batch = (from: number, n: number): SampleBatch => ({
  seriesIds: Array.from({ length: n }, (_, i) => 1 + ((from + i) % 7)),
  ats: Array.from({ length: n }, (_, i) => from + i),
  values: Array.from({ length: n }, (_, i) => (from + i) * 2),
});

describe('SampleWriter', () => {
  it('writes a request larger than one statement as several, each at most maxSamples, every sample once and in order', async () => {
    const { w, inserts } = writer(1000);
    await w.write(batch(0, 2500));
    expect(inserts.map((b) => b.seriesIds.length)).toEqual([1000, 1000, 500]);
    const written = inserts.flatMap((b) => b.ats);
    expect(written).toEqual(batch(0, 2500).ats);
    expect(inserts.flatMap((b) => b.values)).toEqual(batch(0, 2500).values);
  });

  it('still gathers small concurrent requests into one statement', async () => {
    const { w, inserts } = writer(1000);
    await Promise.all([w.write(batch(0, 300)), w.write(batch(300, 300)), w.write(batch(600, 300))]);
    expect(inserts.map((b) => b.seriesIds.length)).toEqual([900]);
  });

  it('fails the request when one of its statements fails', async () => {
    const { w, inserts } = writer(1000, (b) => b.ats[0] === 1000);
    await expect(w.write(batch(0, 2500))).rejects.toThrow('insert failed');
    await w.drain();
    // The others are written: a retry of the request writes the rest, its repeats ignored.
    expect(inserts.map((b) => b.ats[0])).toEqual([0, 2000]);
  });
});
