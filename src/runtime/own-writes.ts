import { type Clock, realClock } from './clock.ts';

interface Versioned {
  metadata: { resourceVersion?: string };
}

interface Write<T> {
  /** The versions our writes replaced: while the cache shows one of them, it lags our writes. */
  replaced: Set<string | undefined>;
  /** What the API server answered last; undefined when the last write got no clear answer. */
  after: T | undefined;
  at: number;
}

/** How long a write with no clear answer may keep others waiting for the cache to show its outcome. */
export const UNCERTAIN_WRITE_TTL_MS = 10_000;

/**
 * Our last writes to each object: the versions they replaced and what the API server answered last
 * (KubeVirt's expectations, in small). While the cache still shows a version we wrote over, it has
 * not caught up: a decision taken on it would repeat the last step, or miss what that step claimed.
 */
export class OwnWrites<T extends Versioned> {
  readonly #writes = new Map<string, Write<T>>();
  readonly #clock: Clock;
  readonly #uncertainTtlMs: number;

  constructor(options: { clock?: Clock; uncertainTtlMs?: number } = {}) {
    this.#clock = options.clock ?? realClock;
    this.#uncertainTtlMs = options.uncertainTtlMs ?? UNCERTAIN_WRITE_TTL_MS;
  }

  /**
   * Records that we wrote `key`, perhaps in several steps: `replaced` are the versions the writes
   * replaced (the one the cache showed first, then each intermediate answer), `after` the last answer.
   */
  wrote(key: string, replaced: readonly T[], after: T): void {
    const versions = new Set(replaced.map((o) => o.metadata.resourceVersion));
    versions.delete(after.metadata.resourceVersion); // the cache showing our last answer has caught up
    this.#writes.set(key, { replaced: versions, after, at: this.#clock.now() });
  }

  /**
   * Records a write over the last of `replaced` that failed without a clear answer (no response, a
   * timeout, a server error): it may have been applied all the same.
   */
  wroteUncertain(key: string, replaced: readonly T[]): void {
    const versions = new Set(replaced.map((o) => o.metadata.resourceVersion));
    this.#writes.set(key, { replaced: versions, after: undefined, at: this.#clock.now() });
  }

  /**
   * For the object's own reconcile: whether `cached` (undefined: gone from the cache) is still a
   * version our certain writes replaced. A cache only moves forward, so any other version includes
   * the last write: it is forgotten then. A write with no clear answer does not hold its own object
   * back (if it went through, the next write conflicts on the resourceVersion).
   */
  cacheBehind(key: string, cached: T | undefined): boolean {
    const write = this.#writes.get(key);
    if (write === undefined) return false;
    if (cached !== undefined && write.replaced.has(cached.metadata.resourceVersion)) {
      if (write.after !== undefined) return true;
      if (!this.#expired(write)) return false;
    }
    this.#writes.delete(key);
    return false;
  }

  /**
   * For the object's siblings: the newest version we know of, which is what our last write returned
   * while the cache lags it; undefined while the outcome of a write with no clear answer is unknown
   * (wait for the cache to show it, for at most the TTL).
   */
  latest(key: string, cached: T): T | undefined {
    const write = this.#writes.get(key);
    if (write === undefined) return cached;
    if (write.replaced.has(cached.metadata.resourceVersion)) {
      if (write.after !== undefined) return write.after;
      if (!this.#expired(write)) return undefined;
    }
    this.#writes.delete(key);
    return cached;
  }

  get size(): number {
    return this.#writes.size;
  }

  #expired(write: Write<T>): boolean {
    return this.#clock.now() - write.at >= this.#uncertainTtlMs;
  }
}
