export interface Summary {
  n: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of a sample (sorted in place). */
export function summarize(values: number[]): Summary {
  if (values.length === 0) return { n: 0, mean: NaN, p50: NaN, p90: NaN, p99: NaN, max: NaN };
  const v = Float64Array.from(values).sort();
  const at = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))];
  let sum = 0;
  for (const x of v) sum += x;
  return { n: v.length, mean: sum / v.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: v[v.length - 1] };
}

export const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
