/**
 * Values in the units agents push (UCUM-like, as OpenTelemetry spells them): % , By,
 * By/s, s, ms, and anything else shown with its unit after the number.
 */
const BYTES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];

function scaled(value: number, base: number, units: string[]): string {
  let i = 0;
  let v = Math.abs(value);
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return `${value < 0 ? '-' : ''}${round(v)} ${units[i]}`;
}

function round(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1).replace(/\.0$/, '');
  return v.toPrecision(3).replace(/\.?0+$/, '');
}

export function formatValue(value: number | null | undefined, unit: string | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  switch (unit ?? '') {
    case '%':
      return `${round(value)} %`;
    case 'By':
      return scaled(value, 1000, BYTES);
    case 'By/s':
      return `${scaled(value, 1000, BYTES)}/s`;
    case 's':
      return Math.abs(value) < 1 ? `${round(value * 1000)} ms` : `${round(value)} s`;
    case 'ms':
      return Math.abs(value) >= 1000 ? `${round(value / 1000)} s` : `${round(value)} ms`;
    case 's/s':
      // Seconds per second, as a CPU-seconds counter reads: a share of one core.
      return `${round(value * 100)} %`;
    case '':
    case '1':
      return scaled(value, 1000, ['', 'k', 'M', 'G', 'T']).trim();
    default:
      return `${scaled(value, 1000, ['', 'k', 'M', 'G', 'T']).trim()} ${unit}`;
  }
}

/** Charts first for the metrics operators look at first: CPU, then memory, then the rest by name. */
export function metricOrder(name: string): number {
  const n = name.toLowerCase();
  if (n.includes('cpu')) return 0;
  if (n.includes('mem')) return 1;
  return 2;
}

export const byImportance = <T extends { name: string }>(a: T, b: T) => metricOrder(a.name) - metricOrder(b.name) || a.name.localeCompare(b.name);
