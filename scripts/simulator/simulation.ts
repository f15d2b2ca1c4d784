import { setMaxListeners } from 'node:events';
import { between, fullJitter, jittered, retryAfterMs, sleep, type Random } from './backoff';
import { AgentReadings } from './metrics';

export const AGENT_KINDS = ['web_server', 'database_monitor', 'api_gateway', 'cache_monitor', 'security_scanner', 'log_processor'] as const;
type Kind = (typeof AGENT_KINDS)[number];
type Health = 'healthy' | 'degraded' | 'unhealthy';

const PORTS: Record<Kind, number> = { web_server: 8080, database_monitor: 9187, api_gateway: 8443, cache_monitor: 9121, security_scanner: 9300, log_processor: 5044 };
const COMPLAINTS: Record<Kind, string[]> = {
  web_server: ['p95 latency 850 ms', '5xx rate 3 %'],
  database_monitor: ['replication lag 12 s', 'connection pool 95 % used'],
  api_gateway: ['upstream timeouts rising', 'TLS certificate expires in 5 days'],
  cache_monitor: ['hit ratio 41 %', 'evictions 2k/s'],
  security_scanner: ['signature feed 3 h old', 'scan queue backing up'],
  log_processor: ['ingest lag 90 s', 'disk 91 % full'],
};
const ENVIRONMENTS = ['production', 'staging', 'development'];
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-south-1'];

export interface SimulationOptions {
  url: string;
  /** Enrollment or admin token. */
  token: string;
  agents: number;
  /** Stops by itself after this long; otherwise runs until stop(). */
  durationMs?: number;
  /** Each agent picks its heartbeat interval in this range (default 5–15 s). */
  intervalMs?: [number, number];
  /** Spread of each wait around the interval (default 0.1 = ±10 %). */
  jitter?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Per heartbeat: chance a healthy agent turns degraded / unhealthy, and a sick one recovers. */
  degradedChance?: number;
  unhealthyChance?: number;
  recoverChance?: number;
  /** Per heartbeat: chance the agent stops; of those, the share that come back (re-registering). */
  stopChance?: number;
  returnChance?: number;
  downtimeMs?: [number, number];
  /** Names are `<prefix>-<kind>-<n>`, so a second run re-registers the same agents. */
  namePrefix?: string;
  requestTimeoutMs?: number;
  random?: Random;
  /** Called for every request made, for tests and traces. */
  onAttempt?(attempt: Attempt): void;
}

export interface Attempt {
  agent: number;
  kind: 'register' | 'heartbeat';
  /** performance.now() when the request was sent and when its answer (or error) came. */
  sentAt: number;
  answeredAt: number;
  status: number | 'network';
  retryAfterMs?: number;
  /** The wait chosen after this attempt before the agent's next request. */
  waitMs?: number;
}

export interface SimulationStats {
  agents: number;
  up: number;
  stopped: number;
  registrations: number;
  returned: number;
  sent: number;
  ok: number;
  failed: number;
  rateLimited: number;
  /** Agents waiting out a backoff right now. */
  backingOff: number;
  sick: number;
}

type Answer = { status: number | 'network'; body?: any; retryAfterMs?: number };

/** Simulated agents that register, heartbeat, fall ill, stop, and come back. */
export class Simulation {
  readonly stats: SimulationStats;
  readonly done: Promise<SimulationStats>;
  /** The counters at the moment the run was stopped, before the agents wound down. */
  atStop?: SimulationStats;
  private readonly abort = new AbortController();
  private readonly o: Required<Omit<SimulationOptions, 'durationMs' | 'onAttempt'>> & Pick<SimulationOptions, 'durationMs' | 'onAttempt'>;

  constructor(opts: SimulationOptions) {
    this.o = {
      intervalMs: [5_000, 15_000], jitter: 0.1, backoffBaseMs: 500, backoffCapMs: 30_000,
      degradedChance: 0.03, unhealthyChance: 0.01, recoverChance: 0.3, stopChance: 0.003, returnChance: 0.6,
      downtimeMs: [10_000, 60_000], namePrefix: 'sim', requestTimeoutMs: 10_000, random: Math.random,
      ...opts, url: opts.url.replace(/\/+$/, ''),
    };
    // Every agent's sleeps and requests listen on the one stop signal.
    setMaxListeners(0, this.abort.signal);
    this.stats = { agents: opts.agents, up: 0, stopped: 0, registrations: 0, returned: 0, sent: 0, ok: 0, failed: 0, rateLimited: 0, backingOff: 0, sick: 0 };
    this.signal.addEventListener('abort', () => (this.atStop = { ...this.stats }), { once: true });
    const timer = opts.durationMs !== undefined ? setTimeout(() => this.abort.abort(), opts.durationMs) : undefined;
    this.done = Promise.all(Array.from({ length: opts.agents }, (_, i) => this.live(i))).then(() => (clearTimeout(timer), this.stats));
  }

  /** Ends every agent's loop (in-flight requests are cancelled) and resolves with the totals. */
  stop(): Promise<SimulationStats> {
    this.abort.abort();
    return this.done;
  }

  private get signal() {
    return this.abort.signal;
  }

  private async live(i: number): Promise<void> {
    const { random, namePrefix } = this.o;
    const kind = AGENT_KINDS[i % AGENT_KINDS.length];
    const intervalMs = between(random, this.o.intervalMs);
    const n = Math.floor(i / AGENT_KINDS.length) + 1;
    const registration = {
      name: `${namePrefix}-${kind}-${n}`,
      type: kind,
      host: `${kind.replaceAll('_', '-')}-${n}.sim.internal`,
      port: PORTS[kind],
      environment: ENVIRONMENTS[i % ENVIRONMENTS.length],
      metadata: { simulated: true, region: REGIONS[i % REGIONS.length] },
      heartbeat_interval_seconds: Math.max(1, Math.round(intervalMs / 1000)),
    };
    // Agents start spread over one interval rather than all at once.
    await sleep(random() * intervalMs, this.signal);
    let sequence = 0;
    // The agent's own token, kept across a stop: coming back, it re-registers with it, as
    // a live agent must (the enrollment token cannot re-register one that is still online).
    let own: string | undefined;
    for (let comingBack = false; !this.signal.aborted; ) {
      let reg = own ? await this.call(i, 'register', '/api/v1/agents/register', own, () => registration) : undefined;
      if (!reg || reg.status === 401 || reg.status === 403) reg = await this.call(i, 'register', '/api/v1/agents/register', this.o.token, () => registration);
      if (!reg) return;
      if (reg.status !== 200 && reg.status !== 201) return void this.stats.failed++; // misconfigured: give up
      this.stats.registrations++;
      if (comingBack) this.stats.returned++;
      this.stats.up++;
      own = reg.body.token;
      const end = await this.beat(i, kind, reg.body.id, reg.body.token, intervalMs, () => ++sequence);
      this.stats.up--;
      if (end === 'revoked') own = undefined;
      if (end !== 'stopped') continue; // 'revoked' re-registers at once; an abort ends the loop
      this.stats.stopped++;
      const back = random() < this.o.returnChance;
      await sleep(back ? between(random, this.o.downtimeMs) : Infinity, this.signal);
      this.stats.stopped--;
      comingBack = true;
    }
  }

  /** Heartbeats until the agent decides to stop, its token stops working, or the run ends. */
  private async beat(i: number, kind: Kind, id: string, token: string, intervalMs: number, nextSequence: () => number) {
    const { random } = this.o;
    let health: Health = 'healthy';
    let message: string | undefined;
    const path = `/api/v1/agents/${id}/heartbeat`;
    // Each heartbeat carries the agent's metrics: one request per interval.
    const readings = new AgentReadings(kind, random);
    try {
      while (!this.signal.aborted) {
        await sleep(jittered(random, intervalMs, this.o.jitter), this.signal);
        if (this.signal.aborted) return 'aborted';
        if (random() < this.o.stopChance) return 'stopped';
        const r = random();
        if (health === 'healthy' && r < this.o.degradedChance + this.o.unhealthyChance) {
          health = r < this.o.degradedChance ? 'degraded' : 'unhealthy';
          const list = COMPLAINTS[kind];
          message = list[Math.floor(random() * list.length)];
          this.stats.sick++;
        } else if (health !== 'healthy' && r < this.o.recoverChance) {
          health = 'healthy';
          message = undefined;
          this.stats.sick--;
        }
        const res = await this.call(i, 'heartbeat', path, token, () => ({ health: { status: health, message }, sequence: nextSequence(), metrics: readings.next(intervalMs / 1000, health !== 'healthy') }));
        if (!res) return 'aborted';
        // The agent was deleted, or re-registered elsewhere, revoking this token.
        if (res.status === 401 || res.status === 403 || res.status === 404) return 'revoked';
      }
      return 'aborted';
    } finally {
      if (health !== 'healthy') this.stats.sick--;
    }
  }

  /**
   * One request, retried while the server errs (5xx, network) or refuses (429): each
   * retry waits Retry-After, if given, plus full-jitter exponential backoff. Resolves
   * with the first other answer, or undefined once the run is stopped.
   */
  private async call(i: number, kind: Attempt['kind'], path: string, token: string, body: () => unknown): Promise<Answer | undefined> {
    for (let attempt = 1; !this.signal.aborted; attempt++) {
      const sentAt = performance.now();
      const answer = await this.post(path, token, body());
      if (!answer) return undefined; // cancelled by stop(): neither sent nor failed
      const refused = answer.status === 'network' || answer.status === 429 || answer.status >= 500;
      if (kind === 'heartbeat') {
        this.stats.sent++;
        if (answer.status === 200) this.stats.ok++;
        else if (answer.status === 429) this.stats.rateLimited++;
        else this.stats.failed++;
      }
      const waitMs = refused ? (answer.retryAfterMs ?? 0) + fullJitter(this.o.random, attempt, this.o.backoffBaseMs, this.o.backoffCapMs) : undefined;
      this.o.onAttempt?.({ agent: i, kind, sentAt, answeredAt: performance.now(), status: answer.status, retryAfterMs: answer.retryAfterMs, waitMs });
      if (waitMs === undefined) return answer;
      this.stats.backingOff++;
      await sleep(waitMs, this.signal);
      this.stats.backingOff--;
    }
    return undefined;
  }

  private async post(path: string, token: string, body: unknown): Promise<Answer | undefined> {
    try {
      const res = await fetch(this.o.url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.any([this.signal, AbortSignal.timeout(this.o.requestTimeoutMs)]),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
      return { status: res.status, body: parsed, retryAfterMs: retryAfterMs(res.headers.get('retry-after')) };
    } catch {
      return this.signal.aborted ? undefined : { status: 'network' };
    }
  }
}

/** Runs a simulation for `durationMs` (or until `signal` aborts) and resolves with its totals. */
export function runSimulation(opts: SimulationOptions & { signal?: AbortSignal }): Promise<SimulationStats> {
  const sim = new Simulation(opts);
  opts.signal?.addEventListener('abort', () => void sim.stop(), { once: true });
  return sim.done;
}
