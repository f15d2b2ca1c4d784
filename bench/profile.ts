/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. `npm run bench -- --profile`):
 * where the time went, by package/file and by function, self and inclusive.
 *
 *   npx tsx bench/profile.ts bench/results/profiles/rest.round1.cpuprofile [--top 25] [--match regex] [--skip s]
 *
 * --match shows the inclusive time of functions whose name or file matches; --skip leaves
 * out the first s seconds (start-up and warm-up), so only the measured load is counted;
 * --under regex breaks down, by function, the time spent beneath the matching frames.
 */
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--') && !/^\d+$/.test(a));
if (!file) {
  console.error('usage: tsx bench/profile.ts <file.cpuprofile> [--top N] [--match regex]');
  process.exit(1);
}
const opt = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const TOP = Number(opt('top') ?? 25);
const MATCH = opt('match') ? new RegExp(opt('match')!) : undefined;
const SKIP_US = Number(opt('skip') ?? 0) * 1e6;
const UNDER = opt('under') ? new RegExp(opt('under')!) : undefined;

const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
let elapsed = 0;
profile.samples.forEach((id, i) => {
  elapsed += profile.timeDeltas[i] ?? 0;
  if (elapsed >= SKIP_US) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
});
const total = [...self.values()].reduce((a, b) => a + b, 0);

/** node_modules/<package>, the project file, node internals, or V8's pseudo-frames. */
function group(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  const project = /\/work\/[^/]+\/(.+)$/.exec(url.replace(/^file:\/\//, ''));
  return project ? project[1] : url;
}
const fnKey = (n: Node) => `${n.callFrame.functionName || '(anonymous)'}  ${group(n.callFrame.url, n.callFrame.functionName)}:${n.callFrame.lineNumber + 1}`;

const groups = new Map<string, number>();
const fns = new Map<string, number>();
for (const n of profile.nodes) {
  const t = self.get(n.id) ?? 0;
  if (!t) continue;
  const g = group(n.callFrame.url, n.callFrame.functionName);
  groups.set(g, (groups.get(g) ?? 0) + t);
  fns.set(fnKey(n), (fns.get(fnKey(n)) ?? 0) + t);
}

// Inclusive time per function, counting a recursive function once per stack.
const inclusive = new Map<string, number>();
function walk(id: number, onStack: Set<string>): number {
  const n = byId.get(id)!;
  let t = self.get(id) ?? 0;
  const key = fnKey(n);
  const fresh = !onStack.has(key);
  if (fresh) onStack.add(key);
  for (const c of n.children ?? []) t += walk(c, onStack);
  if (fresh) {
    onStack.delete(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + t);
  }
  return t;
}
walk(profile.nodes[0].id, new Set());

// Self time beneath frames matching --under (each sample counted once).
const beneath = new Map<string, number>();
function walkUnder(id: number, inside: boolean) {
  const n = byId.get(id)!;
  const now = inside || (!!UNDER && UNDER.test(fnKey(n)));
  const t = self.get(id) ?? 0;
  if (now && t) beneath.set(fnKey(n), (beneath.get(fnKey(n)) ?? 0) + t);
  for (const c of n.children ?? []) walkUnder(c, now);
}
if (UNDER) walkUnder(profile.nodes[0].id, false);

const idle = groups.get('(idle)') ?? 0;
const busy = total - (groups.get('(idle)') ?? 0);
const pct = (t: number) => `${((t / busy) * 100).toFixed(1).padStart(5)} %`;
const ms = (t: number) => `${t.toFixed(0).padStart(7)} ms`;
const table = (title: string, m: Map<string, number>, filter: (k: string) => boolean = () => true) => {
  console.log(`\n${title}`);
  for (const [k, t] of [...m].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`${ms(t)} ${pct(t)}  ${k}`);
};

console.log(`${file}: ${SKIP_US ? `after the first ${SKIP_US / 1e6} s, ` : ''}${(total / 1000).toFixed(1)} s sampled, ${(busy / 1000).toFixed(1)} s busy (idle ${(idle / 1000).toFixed(1)} s); percentages are of busy time`);
table('Self time by package / file', groups, (k) => k !== '(idle)');
table('Self time by function', fns, (k) => !k.startsWith('(idle)'));
if (UNDER) table(`Self time beneath ${UNDER} (total ${[...beneath.values()].reduce((a, b) => a + b, 0).toFixed(0)} ms)`, beneath);
if (MATCH) table(`Inclusive time of functions matching ${MATCH}`, inclusive, (k) => MATCH.test(k));
