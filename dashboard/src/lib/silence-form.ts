import type { CreateSilenceMutation, Silence } from './silence-documents';
import type { VariablesOf } from './graphql';
import { matchersInput, type MatcherRow } from './matchers';
import { formatSpan } from './time';

export type SilenceInput = VariablesOf<typeof CreateSilenceMutation>['input'];

export const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const HOUR = 3_600_000;

export interface SilenceForm {
  matchers: MatcherRow[];
  comment: string;
  recurring: boolean;
  /** When it starts, as a `datetime-local` value in the browser's zone; empty: now. */
  startsAt: string;
  /** One-off: how long from its start. */
  hours: number | null;
  /** Recurring: on these weekdays (0 = Sunday), from `start` to `end` in `timezone`. */
  days: number[];
  start: string;
  end: string;
  timezone: string;
  /** Recurring: when the window stops recurring (`datetime-local`); empty: never. */
  until: string;
}

export function emptySilenceForm(timezone = Intl.DateTimeFormat().resolvedOptions().timeZone): SilenceForm {
  return { matchers: [{ name: 'environment', op: 'EQ', value: '' }], comment: '', recurring: false, startsAt: '', hours: 2, days: [1, 2, 3, 4, 5], start: '22:00', end: '02:00', timezone, until: '' };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** An instant as a `datetime-local` value (the browser's zone, to the minute). */
export function toLocalInput(iso: string | number): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` value as ISO; what does not parse is sent as typed, for the server to name. */
const fromLocalInput = (value: string) => {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
};

/** The form as the API takes it: a one-off silence ends `hours` after its start (or `now`); a window has a schedule. */
export function silenceInput(f: SilenceForm, now: number): SilenceInput {
  const matchers = matchersInput(f.matchers);
  const comment = f.comment.trim();
  const startsAt = f.startsAt ? { startsAt: fromLocalInput(f.startsAt) } : {};
  if (f.recurring) {
    const schedule = { days: [...f.days].sort(), start: f.start, end: f.end, timezone: f.timezone.trim() };
    return { matchers, comment, ...startsAt, ...(f.until ? { endsAt: fromLocalInput(f.until) } : {}), schedule };
  }
  const start = f.startsAt ? new Date(f.startsAt).getTime() : now;
  const endsAt = f.hours === null || Number.isNaN(start) ? null : new Date(start + f.hours * HOUR).toISOString();
  return { matchers, comment, ...startsAt, endsAt };
}

/** A saved silence in the form, to edit it: its start and length (or window) as they are. */
export function formFromSilence(s: Silence, timezone?: string): SilenceForm {
  const base = emptySilenceForm(timezone);
  const matchers = s.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value }));
  const startsAt = toLocalInput(s.startsAt);
  if (s.schedule) {
    return { ...base, matchers, comment: s.comment, recurring: true, startsAt, days: [...s.schedule.days], start: s.schedule.start, end: s.schedule.end, timezone: s.schedule.timezone, until: s.endsAt ? toLocalInput(s.endsAt) : '' };
  }
  const hours = s.endsAt ? Math.round(((Date.parse(s.endsAt) - Date.parse(s.startsAt)) / HOUR) * 100) / 100 : base.hours;
  return { ...base, matchers, comment: s.comment, startsAt, hours };
}

/** Where a silence stands now: muting, waiting for its start ("starts in 3 h"), or outside its weekly window. */
export function silenceState(s: Pick<Silence, 'active' | 'startsAt'>, now: number): { state: 'active' | 'pending' | 'idle'; text: string } {
  const wait = Date.parse(s.startsAt) - now;
  if (wait > 0) return { state: 'pending', text: `pending · starts in ${formatSpan(wait)}` };
  return s.active ? { state: 'active', text: 'active' } : { state: 'idle', text: 'outside its window now' };
}
