/** A fleetAvailability point as the API sends it. */
export interface AvailabilityPoint {
  at: string;
  online: number;
  degraded: number;
  offline: number;
}

/**
 * uPlot's columns for the fleet availability chart, stacked so the bands read as shares
 * of the fleet: x (seconds), offline, offline + degraded, all three.
 */
export function availabilityColumns(points: readonly AvailabilityPoint[]): [number[], number[], number[], number[]] {
  const xs: number[] = [];
  const off: number[] = [];
  const offDeg: number[] = [];
  const all: number[] = [];
  for (const p of points) {
    xs.push(Math.floor(Date.parse(p.at) / 1000));
    off.push(p.offline);
    offDeg.push(p.offline + p.degraded);
    all.push(p.offline + p.degraded + p.online);
  }
  return [xs, all, offDeg, off];
}

/** The words beside the chart: the worst moment of the range, for screen readers and a glance. */
export function availabilitySummary(points: readonly AvailabilityPoint[], when: (at: string) => string = (at) => at): string {
  if (points.length === 0) return 'No availability history yet.';
  let worst = points[0];
  for (const p of points) if (p.offline + p.degraded > worst.offline + worst.degraded) worst = p;
  const last = points[points.length - 1];
  const now = `Now ${last.online} online, ${last.degraded} degraded, ${last.offline} offline.`;
  if (worst.offline + worst.degraded === 0) return `${now} No agent was down or degraded in this range.`;
  return `${now} Worst: ${worst.offline} offline and ${worst.degraded} degraded at ${when(worst.at)}.`;
}
