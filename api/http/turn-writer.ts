import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';

/** Messages sent to one socket in a turn of the event loop, and bytes it may hold unsent, before a send waits for the socket. */
export const SENDS_PER_TURN = 1024;
export const MAX_UNSENT_BYTES = 64 * 1024;

/**
 * Sends a burst of one socket's messages (ten thousand agents going offline at once) as a
 * few large writes rather than a system call each: the first message of a turn of the
 * event loop is written at once, so a lone event reaches its subscriber without waiting;
 * from the second on, the connection is corked until the turn ends. A send resolves at
 * once, letting the next message be formatted in the same turn, until the turn has sent
 * SENDS_PER_TURN messages or the socket holds MAX_UNSENT_BYTES: then it resolves only
 * once the socket has written it, so a slow client holds its own stream back, not the
 * server's memory or event loop.
 */
export class TurnWriter {
  private sent = 0;

  constructor(
    /** Frames and writes a message to `connection`, calling back once it is written. */
    private readonly ws: Pick<WebSocket, 'send'>,
    /** The connection under `ws`. */
    private readonly connection: Writable,
  ) {}

  send(data: string): Promise<void> | undefined {
    const n = this.sent++;
    if (n === 0) setImmediate(() => this.endTurn());
    else if (n === 1) this.connection.cork();
    if (this.sent < SENDS_PER_TURN && this.connection.writableLength < MAX_UNSENT_BYTES) {
      this.ws.send(data);
      return undefined;
    }
    // A send that fails means the socket is going away; 'close' cleans up.
    return new Promise<void>((resolve) => this.ws.send(data, () => resolve()));
  }

  private endTurn(): void {
    if (this.sent > 1) this.connection.uncork();
    this.sent = 0;
  }
}
