import type { Registry } from 'prom-client';

/** One (route, method): its answers by status, and its durations bucketed. */
interface RouteCounts {
  route: string;
  method: string;
  statuses: Map<number, number>;
  /** Observations per bucket (not cumulative), the last for those above every bound. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * `agent_monitor_http_requests_total` and `agent_monitor_http_request_duration_seconds`,
 * counted in plain numbers and turned into Prometheus samples only when scraped. Through
 * prom-client's own Counter and Histogram each request hashed its labels twice, which cost
 * a heartbeat about a tenth of its CPU.
 */
export class RequestMetrics {
  private readonly routes = new Map<string, RouteCounts>();

  constructor(
    registry: Registry,
    private readonly bounds: readonly number[],
  ) {
    const routes = this.routes;
    registry.registerMetric({
      name: 'agent_monitor_http_requests_total',
      get: async () => ({
        name: 'agent_monitor_http_requests_total',
        help: 'HTTP requests answered, by route pattern, method and status.',
        type: 'counter',
        aggregator: 'sum',
        values: [...routes.values()].flatMap((r) => [...r.statuses].map(([status, value]) => ({ labels: { route: r.route, method: r.method, status }, value }))),
      }),
    } as never);
    registry.registerMetric({
      name: 'agent_monitor_http_request_duration_seconds',
      get: async () => ({
        name: 'agent_monitor_http_request_duration_seconds',
        help: 'Time from reading a request to the end of its answer.',
        type: 'histogram',
        aggregator: 'sum',
        values: [...routes.values()].flatMap((r) => this.samples(r)),
      }),
    } as never);
  }

  record(route: string, method: string, status: number, seconds: number): void {
    const key = `${method} ${route}`;
    let r = this.routes.get(key);
    if (!r) this.routes.set(key, (r = { route, method, statuses: new Map(), buckets: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
    r.statuses.set(status, (r.statuses.get(status) ?? 0) + 1);
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    r.buckets[i]++;
    r.sum += seconds;
    r.count++;
  }

  private samples(r: RouteCounts) {
    const name = 'agent_monitor_http_request_duration_seconds';
    const labels = { route: r.route, method: r.method };
    let cumulative = 0;
    const buckets = [...this.bounds, '+Inf' as const].map((le, i) => {
      cumulative += r.buckets[i];
      return { metricName: `${name}_bucket`, labels: { le, ...labels }, value: cumulative };
    });
    return [...buckets, { metricName: `${name}_sum`, labels, value: r.sum }, { metricName: `${name}_count`, labels, value: r.count }];
  }
}
