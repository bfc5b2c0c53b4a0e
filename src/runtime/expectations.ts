import { type Clock, realClock } from './clock.ts';

/** KubeVirt's `ExpectationsTimeout`: after this, an unfulfilled expectation no longer blocks a sync. */
export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

export interface ExpectationRecord {
  add: number;
  del: number;
  /** When the record was set (our clock). */
  timestamp: number;
}

/**
 * KubeVirt/Kubernetes `ControllerExpectations`: before creating or deleting, record how many
 * creations/deletions the informer should show; mark each observed from the informer handler (or at
 * once when the API call failed); skip acting on a key while its expectations are unsatisfied, so a
 * stale cache never causes a duplicate create. Entries expire after 5 minutes.
 */
export class Expectations {
  readonly #records = new Map<string, ExpectationRecord>();
  readonly #clock: Clock;
  readonly #ttlMs: number;

  constructor(options: { clock?: Clock; ttlMs?: number } = {}) {
    this.#clock = options.clock ?? realClock;
    this.#ttlMs = options.ttlMs ?? EXPECTATIONS_TTL_MS;
  }

  /** Replaces any record for `key`. */
  setExpectations(key: string, add: number, del: number): void {
    this.#records.set(key, { add, del, timestamp: this.#clock.now() });
  }

  expectCreations(key: string, n: number): void {
    this.setExpectations(key, n, 0);
  }

  expectDeletions(key: string, n: number): void {
    this.setExpectations(key, 0, n);
  }

  /** Adds to the existing record (creating one if absent), keeping its timestamp. */
  raiseExpectations(key: string, add: number, del: number): void {
    const r = this.#records.get(key);
    if (!r) return this.setExpectations(key, add, del);
    r.add += add;
    r.del += del;
  }

  lowerExpectations(key: string, add: number, del: number): void {
    const r = this.#records.get(key);
    if (!r) return;
    r.add -= add;
    r.del -= del;
  }

  creationObserved(key: string): void {
    this.lowerExpectations(key, 1, 0);
  }

  deletionObserved(key: string): void {
    this.lowerExpectations(key, 0, 1);
  }

  /** True when there is no record, it is fulfilled, or it has expired. */
  satisfiedExpectations(key: string): boolean {
    const r = this.#records.get(key);
    if (!r) return true;
    if (r.add <= 0 && r.del <= 0) return true;
    return this.isExpired(key);
  }

  isExpired(key: string): boolean {
    const r = this.#records.get(key);
    return r !== undefined && this.#clock.now() - r.timestamp > this.#ttlMs;
  }

  getExpectations(key: string): Readonly<ExpectationRecord> | undefined {
    const r = this.#records.get(key);
    return r && { ...r };
  }

  /** Forget `key` (its object was deleted). */
  deleteExpectations(key: string): void {
    this.#records.delete(key);
  }
}
