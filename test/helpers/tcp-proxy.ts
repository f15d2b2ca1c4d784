import net from 'node:net';

/**
 * A TCP proxy between a server under test and PostgreSQL, so a test can take the
 * database away from one server process without touching the shared PostgreSQL:
 * `cut()` resets every connection and refuses new ones (a host dropped off the network),
 * `blackhole()` accepts and forwards nothing (a partition that drops packets),
 * `restore()` forwards again, on the same port.
 */
export interface TcpProxy {
  port: number;
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string;
  cut(): Promise<void>;
  blackhole(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: 'forward' | 'cut' | 'blackhole' = 'forward';
  const pairs = new Set<[net.Socket, net.Socket | undefined]>();
  const server = net.createServer((client) => {
    client.on('error', () => {});
    if (mode === 'cut') return void client.resetAndDestroy();
    if (mode === 'blackhole') {
      const pair: [net.Socket, undefined] = [client, undefined];
      pairs.add(pair);
      client.on('close', () => pairs.delete(pair));
      return void client.pause();
    }
    const upstream = net.connect(target.port, target.host);
    upstream.on('error', () => client.destroy());
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    rewrite(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async cut() {
      mode = 'cut';
      for (const [client, upstream] of pairs) {
        client.resetAndDestroy();
        upstream?.destroy();
      }
      pairs.clear();
    },
    async blackhole() {
      mode = 'blackhole';
      // Open connections stop carrying anything either way, as in a partition.
      for (const [client, upstream] of pairs) {
        client.unpipe();
        upstream?.unpipe();
        client.pause();
        upstream?.pause();
      }
    },
    async restore() {
      mode = 'forward';
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      pairs.clear();
    },
    async close() {
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
