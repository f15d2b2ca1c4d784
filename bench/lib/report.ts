/** The summary the benchmark prints, and the ratios and verdicts it stores. */
import type { FanoutResult } from './fanout';
import type { MassResult } from './mass';
import type { CpuWindow } from './proc';
import type { Summary } from './stats';
import { alertTargets, type AlertsResult } from './alerts';

export type PhaseKey = 'bare' | 'batched' | 'naive' | 'rest' | 'yoga' | 'graphql' | 'registerBare' | 'register';

export interface PhaseResult {
  label: string;
  rate: number;
  ok: number;
  errors: number;
  statuses: Record<string, number>;
  latencyMs: Summary;
  cpu: CpuWindow;
  /** Server CPU per answered request: less sensitive than req/s to what else runs on the machine. */
  serverCpuUsPerRequest: number;
  commitsPerRequest: number;
  firstError?: string;
}

const REFERENCE = { batched: 13_000, naive: 3_400, yoga: 2_900 };

export function summarizeRun(r: Partial<Record<PhaseKey, PhaseResult>>, fanout?: FanoutResult, rounds = 1, mass?: MassResult, alerts?: AlertsResult) {
  const ratio = (a?: PhaseResult, b?: PhaseResult) => (a && b ? a.rate / b.rate : undefined);
  // The same comparison by server CPU per request: what the ratio would be if both servers
  // had a core to themselves. On a shared machine req/s partly measures the CPU share won.
  const cpuRatio = (a?: PhaseResult, b?: PhaseResult) => (a && b ? b.serverCpuUsPerRequest / a.serverCpuUsPerRequest : undefined);
  const ratios = {
    restVsBatchedCeiling: ratio(r.rest, r.batched),
    restVsNaivePerRequest: ratio(r.rest, r.naive),
    restVsBare: ratio(r.rest, r.bare),
    graphqlVsTrivialYoga: ratio(r.graphql, r.yoga),
    graphqlVsRest: ratio(r.graphql, r.rest),
    registerVsBare: ratio(r.register, r.registerBare),
    byServerCpu: {
      restVsBatchedCeiling: cpuRatio(r.rest, r.batched),
      restVsNaivePerRequest: cpuRatio(r.rest, r.naive),
      graphqlVsTrivialYoga: cpuRatio(r.graphql, r.yoga),
      registerVsBare: cpuRatio(r.register, r.registerBare),
    },
  };
  const check = (value: number | undefined, ok: (v: number) => boolean) => (value === undefined ? 'not run' : ok(value) ? 'PASS' : 'FAIL');
  const targets = {
    'REST ≥ 0.75 × bare batched ceiling': check(ratios.restVsBatchedCeiling, (v) => v >= 0.75),
    'GraphQL ≥ 0.8 × trivial yoga mutation': check(ratios.graphqlVsTrivialYoga, (v) => v >= 0.8),
    'fan-out p99 ≤ 50 ms at 1 000 subscribers': check(fanout && fanout.subscribers >= 1000 ? fanout.latencyMs.p99 : undefined, (v) => v <= 50),
    'registrations ≥ 0.8 × bare upsert + event': check(ratios.registerVsBare, (v) => v >= 0.8),
    [`mass offline: ${mass?.agents ?? 10_000} agents OFFLINE at a subscriber ≤ 2 s after their deadline`]: check(mass?.offlineAllMs, (v) => v <= 2_000),
    [`mass recovery: each ONLINE at a subscriber ≤ 2 s after its heartbeat`]: check(mass?.recoveryMs.max, (v) => v <= 2_000),
    ...alertTargets(alerts),
  };
  const x = (v?: number) => (v === undefined ? '   –  ' : `${v.toFixed(2)}×`);
  const busiest = Math.max(0, ...Object.values(r).map((p) => p!.cpu.other));
  const lines = [
    `Throughput${rounds > 1 ? ` (median of ${rounds} rounds)` : ''}`.padEnd(36) + 'req/s  server µs CPU/req  reference req/s (similar 2-core machine)',
    ...(['bare', 'batched', 'naive', 'rest', 'yoga', 'graphql', 'registerBare', 'register'] as PhaseKey[]).flatMap((k) =>
      r[k]
        ? [`  ${r[k]!.label.padEnd(32)} ${r[k]!.rate.toFixed(0).padStart(6)}  ${r[k]!.serverCpuUsPerRequest.toFixed(0).padStart(10)}${k in REFERENCE ? `         ~${REFERENCE[k as keyof typeof REFERENCE]}` : ''}`]
        : [],
    ),
    'Ratios                               by req/s   by server CPU/req',
    `  REST / bare batched ceiling          ${x(ratios.restVsBatchedCeiling)}     ${x(ratios.byServerCpu.restVsBatchedCeiling)}   (target ≥ 0.75×)`,
    `  REST / naive UPDATE per request      ${x(ratios.restVsNaivePerRequest)}     ${x(ratios.byServerCpu.restVsNaivePerRequest)}`,
    `  REST / bare node:http (no work)      ${x(ratios.restVsBare)}`,
    `  GraphQL / trivial yoga mutation      ${x(ratios.graphqlVsTrivialYoga)}     ${x(ratios.byServerCpu.graphqlVsTrivialYoga)}   (target ≥ 0.8×)`,
    `  GraphQL / REST                       ${x(ratios.graphqlVsRest)}`,
    `  registration / bare upsert + event   ${x(ratios.registerVsBare)}     ${x(ratios.byServerCpu.registerVsBare)}   (target ≥ 0.8×)`,
    ...(fanout
      ? [
          'Fan-out and memory',
          `  delivery latency, ${fanout.subscribers} subscribers: p50 ${fanout.latencyMs.p50.toFixed(1)} ms, p99 ${fanout.latencyMs.p99.toFixed(1)} ms (target p99 ≤ 50 ms)`,
          `  until the last subscriber has it:   p50 ${fanout.lastSubscriberMs.p50.toFixed(1)} ms, p99 ${fanout.lastSubscriberMs.p99.toFixed(1)} ms`,
          `  server CPU per event:               ${fanout.serverCpuMsPerEvent.toFixed(1)} ms (${fanout.serverCpuUsPerDelivery.toFixed(0)} µs per delivery) at ${fanout.ratePerSecond} transitions/s`,
          `  memory per idle subscriber:         ${fanout.memory.kibPerSubscriber.toFixed(1)} KiB (server RSS)`,
        ]
      : []),
    ...(mass
      ? [
          'Mass transitions',
          `  ${mass.agents} agents OFFLINE at the subscriber ${mass.offlineAllMs.toFixed(0)} ms after their common deadline`,
          `  back ONLINE: p50 ${mass.recoveryMs.p50.toFixed(0)} ms, p99 ${mass.recoveryMs.p99.toFixed(0)} ms, max ${mass.recoveryMs.max.toFixed(0)} ms after each heartbeat's answer`,
        ]
      : []),
    'Targets (by req/s, as specified)',
    ...Object.entries(targets).map(([name, verdict]) => `  ${verdict.padEnd(7)} ${name}`),
    ...(fanout && fanout.cpu.server > 0.8
      ? [`Note: the server used ${fanout.cpu.server.toFixed(2)} cores during fan-out: latency includes queueing; try a lower --fanout-rate.`]
      : []),
    ...(busiest > 0.3
      ? [
          `Note: up to ${busiest.toFixed(2)} cores were busy with other work during a phase (see "other");`,
          '      req/s then partly measures the CPU share each server won; compare the CPU/req column too.',
        ]
      : []),
  ];
  return { ratios, targets, lines };
}
