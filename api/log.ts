import type { Config } from './config';

const ORDER = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export interface Logger {
  debug(msg: string, ...rest: unknown[]): void;
  info(msg: string, ...rest: unknown[]): void;
  warn(msg: string, ...rest: unknown[]): void;
  error(msg: string, ...rest: unknown[]): void;
}

export function createLogger(level: Config['logLevel']): Logger {
  const min = ORDER.indexOf(level);
  const at = (l: (typeof ORDER)[number], write: (...a: unknown[]) => void) =>
    ORDER.indexOf(l) >= min ? (msg: string, ...rest: unknown[]) => write(`[${new Date().toISOString()}] ${l}: ${msg}`, ...rest) : () => {};
  return {
    debug: at('debug', console.log),
    info: at('info', console.log),
    warn: at('warn', console.warn),
    error: at('error', console.error),
  };
}
