import { type Clock, realClock } from './clock.ts';

/** Hooks the queue calls so metrics.ts can export client-go's workqueue_* series. */
export interface WorkQueueMetrics {
  depth(value: number): void;
  added(): void;
  /** Seconds a key waited in the queue before a worker took it. */
  queueDuration(seconds: number): void;
  /** Seconds a worker held a key (get → done). */
  workDuration(seconds: number): void;
  retried(): void;
}

export const nopQueueMetrics: WorkQueueMetrics = {
  depth: () => {},
  added: () => {},
  queueDuration: () => {},
  workDuration: () => {},
  retried: () => {},
};

export interface WorkQueueOptions {
  name?: string;
  clock?: Clock;
  metrics?: WorkQueueMetrics;
}

/**
 * client-go's `workqueue.Typed` for string keys: a FIFO that dedupes (the dirty set), never hands a
 * key to two workers at once (the processing set), and re-queues a key added while it was being
 * processed when `done` is called. After `shutDown`, `add` is ignored; `get` still hands out what is
 * queued and then resolves `undefined`.
 */
export class WorkQueue {
  readonly name: string;
  protected readonly clock: Clock;
  protected readonly metrics: WorkQueueMetrics;
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #addedAt = new Map<string, number>();
  readonly #startedAt = new Map<string, number>();
  #waiters: ((key: string | undefined) => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? '';
    this.clock = options.clock ?? realClock;
    this.metrics = options.metrics ?? nopQueueMetrics;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.metrics.added();
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** The next key, once one is queued; `undefined` once shut down and empty. Call `done` after. */
  get(): Promise<string | undefined> {
    if (this.#queue.length > 0) return Promise.resolve(this.#pop());
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  done(key: string): void {
    if (!this.#processing.delete(key)) return;
    const started = this.#startedAt.get(key);
    this.#startedAt.delete(key);
    if (started !== undefined) this.metrics.workDuration((this.clock.now() - started) / 1000);
    if (this.#dirty.has(key)) {
      this.#push(key);
    } else if (this.#processing.size === 0) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  len(): number {
    return this.#queue.length;
  }

  /** Keys currently held by workers. */
  processing(): number {
    return this.#processing.size;
  }

  isShuttingDown(): boolean {
    return this.#shuttingDown;
  }

  shutDown(): void {
    this.#shuttingDown = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w(undefined);
  }

  /** Shuts down and resolves once every key handed out has been marked done. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Seconds of work in progress summed over all processing keys, and the longest single one. */
  unfinishedWork(): { unfinishedSeconds: number; longestSeconds: number } {
    const now = this.clock.now();
    let total = 0;
    let longest = 0;
    for (const t of this.#startedAt.values()) {
      const s = (now - t) / 1000;
      total += s;
      longest = Math.max(longest, s);
    }
    return { unfinishedSeconds: total, longestSeconds: longest };
  }

  #push(key: string): void {
    if (!this.#addedAt.has(key)) this.#addedAt.set(key, this.clock.now());
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#queue.push(key);
      waiter(this.#pop());
      return;
    }
    this.#queue.push(key);
    this.metrics.depth(this.#queue.length);
  }

  #pop(): string {
    const key = this.#queue.shift()!;
    this.metrics.depth(this.#queue.length);
    this.#processing.add(key);
    this.#dirty.delete(key);
    const now = this.clock.now();
    const added = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (added !== undefined) this.metrics.queueDuration((now - added) / 1000);
    this.#startedAt.set(key, now);
    return key;
  }
}
