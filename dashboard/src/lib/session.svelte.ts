import { Clock } from './clock.svelte';
import { Connection } from './connection.svelte';
import type { Role } from './documents';

/** Everything that lives exactly as long as one signed-in token. */
export class Session {
  role = $state<Role | null>(null);
  isAdmin = $derived(this.role === 'ADMIN');
  readonly connection = new Connection();
  readonly clock = new Clock();

  destroy() {
    this.clock.destroy();
  }
}
