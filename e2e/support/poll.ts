// Waiting with explicit timeouts, for the specs and the bed alike. No cluster here: the bed imports
// this before it has a cluster (kube.ts, which loads the kubeconfig at import time, re-exports it).

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Thrown from an `eventually` check: stop waiting at once, this will never come true. */
export class GiveUp extends Error {}

/** Polls `check` until it returns a value other than undefined; fails naming what was awaited. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${detail}`);
    }
    await sleep(intervalMs);
  }
}

/** Asserts `check` keeps holding for `durationMs`: for what must NOT happen (a pod that stays). */
export async function consistently(
  what: string,
  check: () => Promise<boolean>,
  durationMs: number,
  intervalMs = 500,
): Promise<void> {
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    if (!(await check()))
      throw new Error(`expected ${what} for ${durationMs / 1000} s, but it stopped holding`);
    await sleep(intervalMs);
  }
}
