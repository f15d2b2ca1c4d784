/**
 * Expected failures. One code per kind of failure, shared by REST
 * (`{"error":{"code","message","fields"}}`) and GraphQL (`extensions.code`,
 * `extensions.fields`); anything that is not an AppError is a bug and gets masked.
 */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  HEADERS_TOO_LARGE: 431,
  SERVICE_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type FieldErrors = Record<string, string>;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fields?: FieldErrors,
    /** Seconds, for RATE_LIMITED and SERVICE_UNAVAILABLE. */
    readonly retryAfter?: number,
    /** Extra response headers, such as the `Allow` of a 405. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }
}

export const badInput = (fields: FieldErrors) =>
  new AppError(
    'BAD_USER_INPUT',
    Object.entries(fields)
      .map(([path, msg]) => `${path}: ${msg}`)
      .join('; '),
    fields,
  );

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);

/** A known path asked with a method it does not answer; `Allow` names those it does (RFC 9110). */
export const methodNotAllowed = (method: string, path: string, allowed: string[]) =>
  new AppError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}`, undefined, undefined, { allow: allowed.join(', ') });

/** Seconds a client is told to wait while the database is out of reach. */
export const UNAVAILABLE_RETRY_AFTER = 5;

export const databaseUnavailable = () =>
  new AppError('SERVICE_UNAVAILABLE', 'the database is out of reach; nothing was written, retry shortly', undefined, UNAVAILABLE_RETRY_AFTER);
