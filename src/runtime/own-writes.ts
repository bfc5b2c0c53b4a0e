interface Versioned {
  metadata: { resourceVersion?: string };
}

/**
 * Our last writes to each object: the versions they replaced and what the API server answered last
 * (KubeVirt's expectations, in small). While the cache still shows a version we wrote over, it has
 * not caught up: a decision taken on it would repeat the last step, or miss what that step claimed.
 */
export class OwnWrites<T extends Versioned> {
  readonly #writes = new Map<string, { replaced: Set<string | undefined>; after: T }>();

  /**
   * Records that we wrote `key`, perhaps in several steps: `replaced` are the versions the writes
   * replaced (the one the cache showed first, then each intermediate answer), `after` the last answer.
   */
  wrote(key: string, replaced: readonly T[], after: T): void {
    const versions = new Set(replaced.map((o) => o.metadata.resourceVersion));
    versions.delete(after.metadata.resourceVersion); // the cache showing our last answer has caught up
    this.#writes.set(key, { replaced: versions, after });
  }

  /**
   * Whether `cached` (undefined: gone from the cache) is still a version our writes replaced. A
   * cache only moves forward, so any other version includes the last write: it is forgotten then.
   */
  cacheBehind(key: string, cached: T | undefined): boolean {
    const write = this.#writes.get(key);
    if (write === undefined) return false;
    if (cached !== undefined && write.replaced.has(cached.metadata.resourceVersion)) return true;
    this.#writes.delete(key);
    return false;
  }

  /** The newest version we know of: what our last write returned while the cache lags it. */
  latest(key: string, cached: T): T {
    return this.cacheBehind(key, cached) ? this.#writes.get(key)!.after : cached;
  }

  get size(): number {
    return this.#writes.size;
  }
}
