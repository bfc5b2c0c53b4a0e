/** A reconcile error that retrying cannot fix (an invalid spec): logged and counted, never requeued. */
export class TerminalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TerminalError';
  }
}

export function isTerminalError(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}

/**
 * The HTTP status of a failed API call: client-node 2.x's ApiException carries `.code`, its Watch
 * errors carry `.statusCode`, and a watch ERROR event carries a Status object with `.code`.
 */
export function apiErrorCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.statusCode === 'number') return e.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => apiErrorCode(err) === 404;
/** An optimistic-concurrency failure (409 with any reason but AlreadyExists). */
export const isConflict = (err: unknown): boolean =>
  apiErrorCode(err) === 409 && statusReason(err) !== 'AlreadyExists';
export const isGone = (err: unknown): boolean => apiErrorCode(err) === 410;

/** 409 is both "conflict" and "already exists"; the Status reason tells them apart. */
export function isAlreadyExists(err: unknown): boolean {
  if (apiErrorCode(err) !== 409) return false;
  return statusReason(err) === 'AlreadyExists';
}

/** The `reason` of the Status body of an API error (e.g. "AlreadyExists", "Conflict", "Expired"). */
export function statusReason(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  let body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/** A short, loggable description of any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
