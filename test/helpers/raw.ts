import net from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../api/log';

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
  /** Everything the server wrote before it closed the connection. */
  text: string;
}

/**
 * Writes `request` (a whole HTTP/1.1 request as text, \r\n line endings) on a fresh socket
 * and reads until the server closes it or a complete answer has arrived: for what no HTTP
 * client will send, such as malformed request targets.
 */
export function rawHttp(baseUrl: string, request: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    const done = () => {
      socket.destroy();
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const bodyText = rest.join('\r\n\r\n');
      let body: unknown = bodyText;
      try {
        body = JSON.parse(bodyText);
      } catch {
        // not JSON
      }
      resolve({ status, headers, body, text });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1];
      if (end >= 0 && length !== undefined && Buffer.byteLength(text.slice(end + 4)) >= Number(length)) done();
    });
    socket.on('end', done);
    socket.on('error', (err) => (text ? done() : reject(err)));
    socket.write(request);
  });
}

/** A logger whose JSON lines the test can read. */
export function capturingLogger(level: 'debug' | 'info' = 'info', throttleMs?: number): { log: Logger; lines: () => Record<string, any>[]; text: () => string } {
  const lines: Record<string, any>[] = [];
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      text += String(chunk);
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { log: createLogger(level, { destination: sink, throttleMs }), lines: () => lines, text: () => text };
}
