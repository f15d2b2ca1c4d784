import pino, { type DestinationStream, type Logger as Pino } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config';

/**
 * JSON lines through pino (one object per line: time, level, msg and fields), or
 * colourful lines for a terminal with LOG_FORMAT=pretty.
 *
 * `warn` and `error` are throttled per kind (message and error class or code): the
 * first of a kind is written at once, the rest within THROTTLE_MS are counted and
 * written as one line with `repeated`. An outage that fails every request, or a sweeper
 * that fails every 250 ms, then costs a line per kind per interval, not one per failure.
 */
export interface Logger {
  debug(msg: string, detail?: unknown): void;
  info(msg: string, detail?: unknown): void;
  warn(msg: string, detail?: unknown): void;
  error(msg: string, detail?: unknown): void;
  /** Written whatever the level: the line a supervisor or a test waits for ("listening on …"). */
  announce(msg: string, detail?: unknown): void;
  /** The underlying pino logger, for structured lines such as the request log. */
  readonly pino: Pino;
  /** Writes what throttling still holds back; for shutdown. */
  flush(): void;
}

export const THROTTLE_MS = 10_000;

/** Never written, wherever they appear in a logged object. */
const REDACT = [
  'authorization',
  'token',
  'password',
  'connectionParams',
  '*.authorization',
  '*.token',
  '*.password',
  '*.connectionParams',
  'req.headers.authorization',
  'req.headers.cookie',
];

export interface LoggerOptions {
  format?: Config['logFormat'];
  /** Where lines go; stdout by default. Tests pass a stream to read them. */
  destination?: DestinationStream;
  throttleMs?: number;
}

export function createLogger(level: Config['logLevel'], opts: LoggerOptions = {}): Logger {
  const destination = opts.destination ?? (opts.format === 'pretty' ? pretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l' }) : pino.destination({ dest: 1, sync: true }));
  const base = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { err: serializeError },
    },
    destination,
  );
  const throttle = new Throttle(base, opts.throttleMs ?? THROTTLE_MS);
  const write = (lvl: 'debug' | 'info', msg: string, detail?: unknown) => {
    if (!base.isLevelEnabled(lvl)) return;
    base[lvl](fields(detail), msg);
  };
  const announcer = base.child({}, { level: 'info' });
  return {
    pino: base,
    announce: (msg, detail) => announcer.info(fields(detail), msg),
    debug: (msg, detail) => write('debug', msg, detail),
    info: (msg, detail) => write('info', msg, detail),
    warn: (msg, detail) => throttle.log('warn', msg, detail),
    error: (msg, detail) => throttle.log('error', msg, detail),
    flush: () => throttle.flush(),
  };
}

/**
 * pino's error serializer, less what a failed query carries: drizzle puts the statement
 * and its parameters (which may hold token hashes, metadata) in the message, the stack
 * and fields of its own. The cause (the database's or the socket's error) is what matters.
 */
function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (!out || typeof out.message !== 'string' || !out.message.startsWith('Failed query')) return out;
  const omitted = 'Failed query (statement and parameters not logged)';
  delete out.query;
  delete out.params;
  const cause = (err as { cause?: unknown }).cause;
  out.message = cause instanceof Error ? `${omitted}: ${cause.message}` : omitted;
  if (cause instanceof Error) out.cause = pino.stdSerializers.err(cause);
  if (typeof out.stack === 'string') out.stack = out.stack.replace(/^[\s\S]*?\n(\s+at )/, `${omitted}\n$1`);
  return out;
}

function fields(detail: unknown): Record<string, unknown> {
  if (detail === undefined) return {};
  if (detail instanceof Error) return { err: detail };
  if (typeof detail === 'object' && detail !== null) return detail as Record<string, unknown>;
  return { detail };
}

/** What makes two failures "the same kind": the message, and the error's code (its own or its cause's) or class. */
function kindOf(level: string, msg: string, detail: unknown): string {
  const err = detail instanceof Error ? detail : (detail as { err?: unknown } | undefined)?.err;
  let what: unknown = err instanceof Error ? err.name : '';
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string') {
      what = e.code;
      break;
    }
  }
  return `${level}\u0000${msg}\u0000${String(what)}`;
}

interface Held {
  level: 'warn' | 'error';
  msg: string;
  detail: unknown;
  count: number;
  timer: NodeJS.Timeout;
}

class Throttle {
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly base: Pino,
    private readonly intervalMs: number,
  ) {}

  log(level: 'warn' | 'error', msg: string, detail: unknown): void {
    if (!this.base.isLevelEnabled(level)) return;
    const kind = kindOf(level, msg, detail);
    const held = this.held.get(kind);
    if (held) {
      held.count++;
      held.detail = detail;
      return;
    }
    this.base[level](fields(detail), msg);
    const timer = setTimeout(() => this.release(kind), this.intervalMs);
    timer.unref();
    this.held.set(kind, { level, msg, detail, count: 0, timer });
  }

  /** Ends a kind's interval: writes how many more there were, and lets the next one through at once. */
  private release(kind: string): void {
    const held = this.held.get(kind);
    if (!held) return;
    this.held.delete(kind);
    clearTimeout(held.timer);
    if (held.count > 0) this.base[held.level]({ ...fields(held.detail), repeated: held.count, intervalMs: this.intervalMs }, `${held.msg} (${held.count} more like it)`);
  }

  flush(): void {
    for (const kind of [...this.held.keys()]) this.release(kind);
  }
}
