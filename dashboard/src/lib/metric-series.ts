/**
 * Turns a series' points into uPlot's columns: seconds on x, and a null wherever the
 * series has no sample for longer than a few of its usual spacing, so uPlot draws a
 * gap there instead of a line across it.
 */
export interface Point {
  at: string | number;
  value: number;
}

const ms = (at: string | number) => (typeof at === 'number' ? at : Date.parse(at));

/** The usual spacing of a series (its median step), at least `stepSeconds`. */
export function typicalSpacing(times: number[], stepSeconds: number): number {
  if (times.length < 2) return stepSeconds * 1000;
  const gaps: number[] = [];
  for (let i = 1; i < times.length; i++) gaps.push(times[i] - times[i - 1]);
  gaps.sort((a, b) => a - b);
  return Math.max(gaps[Math.floor(gaps.length / 2)], stepSeconds * 1000);
}

export function toColumns(points: readonly Point[], stepSeconds: number): [number[], (number | null)[]] {
  const times = points.map((p) => ms(p.at));
  const spacing = typicalSpacing(times, stepSeconds);
  const xs: number[] = [];
  const ys: (number | null)[] = [];
  for (let i = 0; i < points.length; i++) {
    if (i > 0 && times[i] - times[i - 1] > 2.5 * spacing) {
      xs.push((times[i - 1] + spacing) / 1000);
      ys.push(null);
    }
    xs.push(times[i] / 1000);
    ys.push(points[i].value);
  }
  return [xs, ys];
}

/** Ranges the picker offers, in milliseconds. */
export const RANGES = [
  { key: '15m', label: '15 min', ms: 15 * 60_000 },
  { key: '1h', label: '1 h', ms: 3_600_000 },
  { key: '6h', label: '6 h', ms: 6 * 3_600_000 },
  { key: '24h', label: '24 h', ms: 24 * 3_600_000 },
  { key: '7d', label: '7 d', ms: 7 * 86_400_000 },
] as const;
export type RangeKey = (typeof RANGES)[number]['key'] | 'custom';
