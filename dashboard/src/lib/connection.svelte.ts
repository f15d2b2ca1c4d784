export type LinkStatus = 'connecting' | 'live' | 'reconnecting' | 'rejected';

/**
 * The WebSocket's state as the operator should see it. `generation` moves on every
 * successful reconnect; pages watch it to re-query what they may have missed.
 */
export class Connection {
  status = $state<LinkStatus>('connecting');
  generation = $state(0);
  /**
   * When the live link was lost (ms), while it stays lost: what is on screen is as of then.
   * Null while live, and before the first connection (nothing shown is stale yet).
   */
  lostAt = $state<number | null>(null);
  #everConnected = false;

  connected() {
    if (this.#everConnected) this.generation++;
    this.#everConnected = true;
    this.status = 'live';
    this.lostAt = null;
  }

  closed(code: number | undefined, at = Date.now()) {
    if (this.status === 'rejected') return;
    if (this.status === 'live') this.lostAt = at;
    // 4403/4401: the server refused the token; retrying would only loop.
    this.status = code === 4403 || code === 4401 ? 'rejected' : this.#everConnected ? 'reconnecting' : 'connecting';
  }
}
