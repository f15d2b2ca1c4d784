/**
 * The fleet's order, one definition for the server and the dashboard: the server sorts
 * by the stored key (agents.name_key, written from naturalKey at registration) and by
 * the same fields in PostgreSQL's "C" collation, the dashboard by compareAgents; both
 * compare text by Unicode code point, never by locale, so they agree on every name.
 *
 * Natural order: ASCII letters compare without case, and a run of digits compares as
 * the number it spells ("gw-2" < "gw-10" < "GW-11"); names that tie so ("gw-2", "GW-2",
 * "gw-02") then compare as they are written, by code point ("GW-2" < "gw-02" < "gw-2").
 * No imports: this file is part of both builds.
 */

/** Fields the fleet can be ordered by ('severity' is the default: worst first). */
export const AGENT_ORDER_FIELDS = ['severity', 'statusSince', 'name', 'status', 'type', 'environment', 'createdAt', 'lastHeartbeat'] as const;
export type AgentOrderField = (typeof AGENT_ORDER_FIELDS)[number];
export type OrderDirection = 'asc' | 'desc';
export interface AgentOrder {
  field: AgentOrderField;
  direction: OrderDirection;
}
export const DEFAULT_AGENT_ORDER: AgentOrder = { field: 'severity', direction: 'asc' };

type Status = 'online' | 'degraded' | 'offline';

/** Worst first: the rank of each status in the default order. */
export const STATUS_SEVERITY: Record<Status, number> = { offline: 0, degraded: 1, online: 2 };
/** The status enum's own order (ORDER BY status): as declared in the database. */
export const STATUS_RANK: Record<Status, number> = { online: 0, degraded: 1, offline: 2 };

/** Ordering by code point, as PostgreSQL's "C" collation compares UTF-8 bytes (JS's `<` compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * The key whose code-point order is the natural order: ASCII A–Z lowered, and each run
 * of digits written as its length (3 digits) and the digits without leading zeros, so a
 * longer number sorts after a shorter one. Digits stay digits, so a number sorts against
 * other characters where its first digit would. drizzle/*_natural_order.sql computes the
 * same key in SQL for agents registered before it existed.
 */
export function naturalKey(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[0-9]+/g, (run) => {
    const digits = run.replace(/^0+/, '');
    return String(digits.length).padStart(3, '0') + digits;
  });
}

/** Natural order of names, ties broken by the name as written: a total order on distinct names. */
export function compareNames(a: string, b: string): number {
  return compareCodePoints(naturalKey(a), naturalKey(b)) || compareCodePoints(a, b);
}

/** The fields an agent is ordered by; times as Date or as the ISO text GraphQL sends. */
export interface OrderedAgent {
  id: string;
  name: string;
  status: Status;
  statusChangedAt: Date | string;
  type: string;
  environment: string;
  createdAt: Date | string;
  lastHeartbeat: Date | string | null;
}

/** Milliseconds, which is what both sides compare (the server truncates to them); a missing time first. */
const time = (t: Date | string | null) => (t === null ? -Infinity : typeof t === 'string' ? Date.parse(t) : t.getTime());
const byNumber = (x: number, y: number) => (x === y ? 0 : x < y ? -1 : 1);

/**
 * The server's order of the agents connection for `order` (DEFAULT_AGENT_ORDER when
 * absent): the field, then (severity only) the time in the current status, oldest first,
 * then natural name order, then id. The direction reverses all of it, as on the server.
 */
export function compareAgents(a: OrderedAgent, b: OrderedAgent, order: AgentOrder = DEFAULT_AGENT_ORDER): number {
  const primary = (): number => {
    switch (order.field) {
      case 'severity':
        return byNumber(STATUS_SEVERITY[a.status], STATUS_SEVERITY[b.status]) || byNumber(time(a.statusChangedAt), time(b.statusChangedAt));
      case 'statusSince':
        return byNumber(time(a.statusChangedAt), time(b.statusChangedAt));
      case 'status':
        return byNumber(STATUS_RANK[a.status], STATUS_RANK[b.status]);
      case 'type':
        return compareCodePoints(a.type, b.type);
      case 'environment':
        return compareCodePoints(a.environment, b.environment);
      case 'createdAt':
        return byNumber(time(a.createdAt), time(b.createdAt));
      case 'lastHeartbeat':
        return byNumber(time(a.lastHeartbeat), time(b.lastHeartbeat));
      case 'name':
        return 0;
    }
  };
  const result = primary() || compareNames(a.name, b.name) || compareCodePoints(a.id.toLowerCase(), b.id.toLowerCase());
  return order.direction === 'desc' ? -result : result;
}
