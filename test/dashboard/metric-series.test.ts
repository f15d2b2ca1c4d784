import { describe, expect, it } from 'vitest';
import { byImportance, formatValue } from '../../dashboard/src/lib/metric-format';
import { toColumns } from '../../dashboard/src/lib/metric-series';

describe('chart data', () => {
  it('puts a null where a series has no samples for longer than a few of its steps, so the chart shows a gap', () => {
    const at = (s: number) => new Date(s * 1000).toISOString();
    const points = [0, 10, 20, 30, 100, 110].map((s) => ({ at: at(s), value: s }));
    const [xs, ys] = toColumns(points, 1);
    expect(xs).toEqual([0, 10, 20, 30, 40, 100, 110]);
    expect(ys).toEqual([0, 10, 20, 30, null, 100, 110]);
  });

  it('draws evenly spaced samples as one line', () => {
    const points = [0, 60, 120].map((s) => ({ at: s * 1000, value: 1 }));
    expect(toColumns(points, 60)[1]).toEqual([1, 1, 1]);
  });
});

describe('units', () => {
  it.each([
    [12.5, '%', '12.5 %'],
    [5.1e10, 'By', '51 GB'],
    [2048, 'By/s', '2.05 kB/s'],
    [0.25, 's', '250 ms'],
    [1500, 'ms', '1.5 s'],
    [0.5, 's/s', '50 %'],
    [1200, '', '1.2 k'],
    [3, '{request}/s', '3 {request}/s'],
    [null, '%', '—'],
  ])('formats %s %s as %s', (value, unit, text) => {
    expect(formatValue(value, unit)).toBe(text);
  });

  it('orders CPU and memory before the rest', () => {
    const names = ['disk_used_bytes', 'memory_used_bytes', 'a_metric', 'cpu_percent'].map((name) => ({ name }));
    expect(names.sort(byImportance).map((n) => n.name)).toEqual(['cpu_percent', 'memory_used_bytes', 'a_metric', 'disk_used_bytes']);
  });
});
