import { Clock } from './clock.svelte';
import { Connection } from './connection.svelte';
import type { Role } from './documents';
import { TimePrefs } from './time-prefs.svelte';

/** Everything that lives exactly as long as one signed-in token. */
export class Session {
  role = $state<Role | null>(null);
  isAdmin = $derived(this.role === 'ADMIN');
  readonly connection = new Connection();
  readonly clock = new Clock();
  readonly time = new TimePrefs();
  /** Data on screen is stale while the live link is down. */
  stale = $derived(this.connection.lostAt !== null);
  /**
   * "Now" for relative times and countdowns: it stops when the link is lost, so nothing
   * on a stale screen keeps ticking as if it were live.
   */
  now = $derived(this.connection.lostAt ?? this.clock.now);
  /** Why actions that need the server are disabled, or null when they are not. */
  offlineReason = $derived(this.stale ? 'Not connected to the server: actions are disabled until it reconnects.' : null);

  destroy() {
    this.clock.destroy();
  }
}
