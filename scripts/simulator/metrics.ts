import type { Random } from './backoff';

type Sample = { name: string; value: number; labels?: Record<string, string>; kind?: string; unit?: string };

/**
 * Believable readings for one simulated agent: CPU and memory that wander (and climb
 * while the agent is sick), disk that fills slowly, byte counters that only grow, and
 * per kind what its operators watch: request rate and latency for gateways and web
 * servers, queue depth for log processors, connections for databases, hit ratio for caches.
 */
export class AgentReadings {
  private cpu: number;
  private memory: number;
  private disk: number;
  private rx = 0;
  private tx = 0;
  private requests = 0;
  private queue = 0;
  private readonly memoryTotal: number;

  constructor(
    private readonly kind: string,
    private readonly random: Random,
  ) {
    this.cpu = 10 + random() * 40;
    this.memoryTotal = [4, 8, 16, 32][Math.floor(random() * 4)] * 2 ** 30;
    this.memory = this.memoryTotal * (0.3 + random() * 0.3);
    this.disk = 50e9 + random() * 100e9;
  }

  /** The next samples, `seconds` after the previous ones; `sick` pushes the load up. */
  next(seconds: number, sick: boolean): Sample[] {
    const r = this.random;
    const drift = (value: number, target: number, spread: number) => value + (target - value) * 0.2 + (r() - 0.5) * spread;
    this.cpu = Math.min(100, Math.max(0, drift(this.cpu, sick ? 85 : 30, 12)));
    this.memory = Math.min(this.memoryTotal, Math.max(0, drift(this.memory, this.memoryTotal * (sick ? 0.9 : 0.55), this.memoryTotal * 0.02)));
    this.disk += seconds * (1e5 + r() * 1e6);
    const load = this.cpu / 30;
    this.rx += Math.round(seconds * load * (2e5 + r() * 3e5));
    this.tx += Math.round(seconds * load * (5e5 + r() * 8e5));
    const samples: Sample[] = [
      { name: 'cpu_percent', value: round(this.cpu) },
      { name: 'memory_used_bytes', value: Math.round(this.memory) },
      { name: 'disk_used_bytes', value: Math.round(this.disk), labels: { mount: '/' } },
      { name: 'net_rx_bytes_total', value: this.rx },
      { name: 'net_tx_bytes_total', value: this.tx },
    ];
    if (this.kind === 'api_gateway' || this.kind === 'web_server') {
      this.requests += Math.round(seconds * load * (80 + r() * 40));
      samples.push(
        { name: 'http_requests_total', value: this.requests },
        { name: 'http_request_duration_seconds', value: round((sick ? 0.6 : 0.05) + r() * 0.1, 4), unit: 's' },
      );
    }
    if (this.kind === 'log_processor') {
      this.queue = Math.max(0, this.queue + (sick ? 400 : -200) + (r() - 0.5) * 300);
      samples.push({ name: 'queue_depth', value: Math.round(this.queue) });
    }
    if (this.kind === 'database_monitor') samples.push({ name: 'db_connections', value: Math.round(20 + load * 30 + r() * 10) });
    if (this.kind === 'cache_monitor') samples.push({ name: 'cache_hit_ratio_percent', value: round(sick ? 40 + r() * 10 : 90 + r() * 8) });
    return samples;
  }
}

const round = (v: number, digits = 2) => Number(v.toFixed(digits));
