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
  // Not every numeric code is HTTP's: a DOMException from an aborted request has one too (23 for a timeout).
  const http = (code: unknown) => (typeof code === 'number' && code >= 100 && code < 600 ? code : undefined);
  return http(e.code) ?? http(e.statusCode);
}

export const isNotFound = (err: unknown): boolean => apiErrorCode(err) === 404;
/** An optimistic-concurrency failure (409 with any reason but AlreadyExists). */
export const isConflict = (err: unknown): boolean =>
  apiErrorCode(err) === 409 && statusReason(err) !== 'AlreadyExists';
export const isGone = (err: unknown): boolean => apiErrorCode(err) === 410;

/**
 * Whether a failed write may have been applied all the same: no HTTP answer at all (a cut or timed
 * out connection) or a server error (a 504 after etcd committed it). A 4xx is a clear refusal.
 */
export const outcomeUnknown = (err: unknown): boolean => {
  const code = apiErrorCode(err);
  return code === undefined || code >= 500;
};

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
