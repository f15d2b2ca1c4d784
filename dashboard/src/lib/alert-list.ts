import type { AlertRow } from './alert-documents';

export type AlertState = AlertRow['state'];
export type Severity = AlertRow['severity'];
export const STATES: AlertState[] = ['FIRING', 'PENDING', 'RESOLVED'];
export const SEVERITIES: Severity[] = ['CRITICAL', 'WARNING', 'INFO'];

/** One-click silence durations, label and seconds. */
export const SILENCE_PRESETS: [string, number][] = [
  ['1 h', 3600],
  ['4 h', 4 * 3600],
  ['24 h', 86_400],
];

export interface AlertView {
  state: AlertState[];
  severity: Severity[];
}

/** The Alerts page's filters as a query string, and back: open alerts by default. */
export function viewFromSearch(search: string): AlertView {
  const q = new URLSearchParams(search);
  const pick = <T extends string>(key: string, allowed: T[], fallback: T[]) => {
    const values = q.getAll(key).flatMap((v) => v.split(',')).map((v) => v.toUpperCase()).filter((v): v is T => allowed.includes(v as T));
    return values.length > 0 ? values : fallback;
  };
  return { state: pick('state', STATES, ['FIRING', 'PENDING']), severity: pick('severity', SEVERITIES, []) };
}

export function searchFromView(view: AlertView): string {
  const q = new URLSearchParams();
  if (view.state.join() !== 'FIRING,PENDING') q.set('state', view.state.join(',').toLowerCase());
  if (view.severity.length > 0) q.set('severity', view.severity.join(',').toLowerCase());
  const s = q.toString();
  return s ? `?${s}` : '';
}

const rank = (a: AlertRow) => [STATES.indexOf(a.state), SEVERITIES.indexOf(a.severity), -Date.parse(a.startedAt)];

/** Firing first, then pending, then resolved; by severity; newest first (as the server orders them). */
export function compareAlerts(a: AlertRow, b: AlertRow): number {
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return a.id < b.id ? -1 : 1;
}

export const matchesView = (a: AlertRow, view: AlertView) => view.state.includes(a.state) && (view.severity.length === 0 || view.severity.includes(a.severity));

/** A list with one alert as it now is: replaced, added, or dropped when it no longer matches. */
export function applyChange(list: AlertRow[], alert: AlertRow, view: AlertView): AlertRow[] {
  const rest = list.filter((a) => a.id !== alert.id);
  return matchesView(alert, view) ? [...rest, alert].sort(compareAlerts) : rest;
}
