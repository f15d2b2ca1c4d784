/** What the ingest looks up per point without the database: a push's label sets, and the series this replica knows. */
import { canonicalLabels, labelsProblem, MAX_LABELS } from './metrics.input';

/** The same object, or two plain objects with the same keys and values (the points of one series in a JSON push). */
function sameLabels(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) || Array.isArray(b)) return false;
  const keys = Object.keys(b);
  if (keys.length !== Object.keys(a).length) return false;
  for (const k of keys) if ((a as Record<string, unknown>)[k] !== (b as Record<string, unknown>)[k] || !Object.hasOwn(a, k)) return false;
  return true;
}

/**
 * The label sets of one push, each checked and made canonical once: the points of one
 * series share their labels' object (remote write) or at least their content (JSON,
 * OTLP), and follow one another, so a push of 2 000 points over 50 series checks 50
 * sets, not 2 000.
 */
export class LabelSets {
  private last?: { labels: unknown; canonical: string | undefined; problem: string | undefined };
  private readonly problems = new Map<string, string | undefined>();

  problem(labels: unknown): string | undefined {
    return this.of(labels).problem;
  }

  /** Only for labels problem() accepted. */
  canonical(labels: Record<string, string>): string {
    return this.of(labels).canonical!;
  }

  private of(labels: unknown): { canonical: string | undefined; problem: string | undefined } {
    if (this.last && sameLabels(this.last.labels, labels)) return this.last;
    let canonical: string | undefined;
    let problem: string | undefined;
    // Too many labels, or a value that is not a string, is refused before they are sorted
    // and written as JSON (a value nested thousands deep would overflow the stack there).
    const plain =
      typeof labels === 'object' && labels !== null && !Array.isArray(labels) && Object.keys(labels).length <= MAX_LABELS && Object.values(labels).every((v) => typeof v === 'string');
    if (!plain) problem = labelsProblem(labels);
    else {
      canonical = canonicalLabels(labels as Record<string, string>);
      if (this.problems.has(canonical)) problem = this.problems.get(canonical);
      else this.problems.set(canonical, (problem = labelsProblem(labels)));
    }
    this.last = { labels, canonical, problem };
    return this.last;
  }
}

/**
 * The ids of the series this replica knows, per agent, by canonical labels and then
 * name. One map of composite keys cost a key string per point and, with hundreds of
 * thousands of series, a lookup in a map far larger than the processor's caches; a
 * push's points share their agent and mostly their labels' string, so only names are
 * looked up. Ids, not series objects: a million of those made every full collection
 * of the heap slower.
 */
export class SeriesCache {
  private readonly agents = new Map<string, Map<string, Map<string, number>>>();
  private size = 0;

  /** Past `capacity` series the cache starts afresh: a replica's active series should fit (METRICS_SERIES_CACHE). */
  constructor(private readonly capacity: number) {}

  /** An agent's series by canonical labels and name, if any is known. */
  of(agentId: string): ReadonlyMap<string, ReadonlyMap<string, number>> | undefined {
    return this.agents.get(agentId);
  }

  add(agentId: string, canonical: string, name: string, id: number): void {
    if (this.size >= this.capacity) {
      this.agents.clear();
      this.size = 0;
    }
    let byLabels = this.agents.get(agentId);
    if (!byLabels) this.agents.set(agentId, (byLabels = new Map()));
    let byName = byLabels.get(canonical);
    if (!byName) byLabels.set(canonical, (byName = new Map()));
    if (!byName.has(name)) this.size++;
    byName.set(name, id);
  }
}
