import { formatAbsolute, formatAgo, formatIso, formatUntil, type TimeZoneChoice } from './time';

export type TimeMode = 'relative' | 'local' | 'utc';
const KEY = 'agent-monitor.time';
const MODES: readonly TimeMode[] = ['relative', 'local', 'utc'];

/**
 * How times read: relative ("12 s ago") by default, or absolute in local time or UTC.
 * One button cycles the three; the choice is remembered in localStorage. Tooltips always
 * carry the ISO time with its zone, in the zone chosen (local while relative).
 */
export class TimePrefs {
  mode = $state<TimeMode>('relative');
  zone = $derived<TimeZoneChoice>(this.mode === 'utc' ? 'utc' : 'local');

  constructor() {
    const stored = read();
    if (stored && (MODES as readonly string[]).includes(stored)) this.mode = stored as TimeMode;
  }

  cycle() {
    this.set(MODES[(MODES.indexOf(this.mode) + 1) % MODES.length]);
  }

  set(mode: TimeMode) {
    this.mode = mode;
    try {
      localStorage.setItem(KEY, mode);
    } catch {
      // No storage (private mode): the choice lasts for this page.
    }
  }

  /** A past instant as the operator chose to read times. */
  ago(at: string | number | null | undefined, now: number): string {
    return this.mode === 'relative' ? formatAgo(at, now) : formatAbsolute(at, now, this.zone);
  }

  /** A future instant (a deadline): relative counts down, absolute says when. */
  until(at: string | number | null | undefined, now: number): string {
    if (this.mode === 'relative' || at === null || at === undefined) return formatUntil(at, now);
    return formatAbsolute(at, now, this.zone);
  }

  iso(at: string | number | null | undefined): string {
    return formatIso(at, this.zone);
  }
}

function read(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}
