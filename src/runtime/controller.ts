import { randomUUID } from 'node:crypto';
import { type Clock, realClock } from './clock.ts';
import { isTerminalError } from './errors.ts';
import type { Informer } from './informer.ts';
import { type Logger, nopLogger } from './logger.ts';
import { type ControllerMetrics, type Metrics, nopControllerMetrics } from './metrics.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { RateLimitingQueue } from './rate-limiting-queue.ts';
import { type KubeObject, objectKey } from './store.ts';

export interface ReconcileResult {
  /** Reconcile this key again after this long (a deadline); resets its failure backoff. */
  requeueAfterMs?: number;
  /** Reconcile again with rate-limited backoff, without counting as an error. */
  requeue?: boolean;
}

export interface ReconcileContext {
  key: string;
  /** Unique per reconcile; also in every line of `logger`. */
  reconcileID: string;
  logger: Logger;
  /** Aborted when the controller must stop at once (leadership lost). */
  signal: AbortSignal;
}

/**
 * Reads current state for `key`, acts idempotently, and returns when to look again. Throwing retries
 * with backoff; throwing a TerminalError does not retry.
 */
// `void` so a reconciler may simply not return anything when it is done.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult | void>;

/** Maps an object to the keys to reconcile; `undefined`/`[]` for none. Must not await. */
export type MapFunc<T> = (obj: T) => string | readonly string[] | undefined | null;

export interface WatchOptions<T> {
  /** Return false to ignore an update (e.g. heartbeat-only changes, our own status writes). */
  updateFilter?: (oldObj: T, newObj: T) => boolean;
}

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  /** Concurrent reconciles (never two for one key). Default 1. */
  workers?: number;
  logger?: Logger;
  metrics?: Metrics;
  clock?: Clock;
  rateLimiter?: RateLimiter;
  /** Informers that must have synced before workers start, besides those passed to `watch`. */
  informers?: Syncable[];
}

/** Something with a sync state; every Informer is one. */
export interface Syncable {
  hasSynced(): boolean;
  waitForSync(signal?: AbortSignal): Promise<boolean>;
}

/**
 * controller-runtime's controller: event handlers map objects to keys and enqueue; N workers take
 * keys from a rate-limited queue and reconcile them; outcomes map to forget / addAfter / addRateLimited.
 */
export class Controller {
  readonly name: string;
  readonly queue: RateLimitingQueue;
  readonly #reconcile: Reconciler;
  readonly #workers: number;
  readonly #log: Logger;
  readonly #metrics: ControllerMetrics;
  readonly #clock: Clock;
  readonly #syncables: Syncable[] = [];
  readonly #abort = new AbortController();
  #running: Promise<void>[] = [];
  #started = false;
  #stopping = false;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#reconcile = options.reconcile;
    this.#workers = Math.max(1, options.workers ?? 1);
    this.#log = (options.logger ?? nopLogger).child({ controller: options.name });
    this.#clock = options.clock ?? realClock;
    this.#metrics = options.metrics?.controllerMetrics(options.name) ?? nopControllerMetrics;
    this.queue = new RateLimitingQueue({
      name: options.name,
      clock: this.#clock,
      rateLimiter: options.rateLimiter,
      metrics: options.metrics?.queueMetrics(options.name),
    });
    options.metrics?.trackQueue(options.name, this.queue);
    this.#metrics.maxConcurrentReconciles(this.#workers);
    for (const i of options.informers ?? []) this.#syncables.push(i);
  }

  /** Enqueues keys for every add, update (passing the filter) and delete of `informer`'s objects. */
  watch<T extends KubeObject>(
    informer: Informer<T>,
    map: MapFunc<T> = objectKey,
    options: WatchOptions<T> = {},
  ): () => void {
    if (!this.#syncables.includes(informer)) this.#syncables.push(informer);
    const enqueue = (obj: T, event: string) => {
      try {
        const keys = map(obj);
        if (keys === undefined || keys === null) return;
        for (const k of typeof keys === 'string' ? [keys] : keys) if (k) this.queue.add(k);
      } catch (err) {
        this.#log.error('map function threw', {
          event,
          object: objectKey(obj),
          resource: informer.resource.plural,
          err,
        });
      }
    };
    return informer.addEventHandler({
      add: (obj) => enqueue(obj, 'add'),
      update: (oldObj, newObj) => {
        try {
          if (options.updateFilter && !options.updateFilter(oldObj, newObj)) return;
        } catch (err) {
          this.#log.error('update filter threw', { object: objectKey(newObj), err });
        }
        enqueue(newObj, 'update');
      },
      delete: (obj) => enqueue(obj, 'delete'),
    });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  enqueueAfter(key: string, delayMs: number): void {
    this.queue.addAfter(key, delayMs);
  }

  /** All informers this controller depends on have synced. */
  hasSynced(): boolean {
    return this.#syncables.every((s) => s.hasSynced());
  }

  /**
   * Waits for every informer to sync, then starts the workers. Resolves true once they run, false if
   * stopped first.
   */
  async start(): Promise<boolean> {
    if (this.#started) return true;
    const synced = await Promise.all(this.#syncables.map((s) => s.waitForSync(this.#abort.signal)));
    if (this.#stopping || !synced.every(Boolean)) return false;
    this.#started = true;
    this.#log.info('starting workers', { workers: this.#workers });
    for (let i = 0; i < this.#workers; i++) this.#running.push(this.#worker());
    return true;
  }

  isRunning(): boolean {
    return this.#started && !this.#stopping;
  }

  /**
   * Stops taking keys and waits for in-flight reconciles to finish. With `abort`, their signal is
   * aborted first (leadership lost: stop acting at once).
   */
  async stop(options: { abort?: boolean } = {}): Promise<void> {
    this.#stopping = true;
    if (options.abort || !this.#started) this.#abort.abort();
    await this.queue.shutDownWithDrain();
    await Promise.all(this.#running);
    this.#log.info('stopped');
  }

  async #worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.#stopping) {
        this.queue.done(key);
        return;
      }
      await this.#process(key);
    }
  }

  async #process(key: string): Promise<void> {
    const reconcileID = randomUUID();
    const logger = this.#log.child({ key, reconcileID });
    const start = this.#clock.now();
    this.#metrics.activeWorkers(1);
    try {
      const result =
        (await this.#reconcile(key, { key, reconcileID, logger, signal: this.#abort.signal })) ?? {};
      const seconds = (this.#clock.now() - start) / 1000;
      if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfterMs);
        this.#metrics.reconciled('requeue_after', seconds);
      } else if (result.requeue) {
        this.queue.addRateLimited(key);
        this.#metrics.reconciled('requeue', seconds);
      } else {
        this.queue.forget(key);
        this.#metrics.reconciled('success', seconds);
      }
    } catch (err) {
      const seconds = (this.#clock.now() - start) / 1000;
      this.#metrics.reconciled('error', seconds);
      const terminal = isTerminalError(err);
      this.#metrics.errored(terminal);
      if (terminal) {
        this.queue.forget(key);
        logger.error('reconcile failed with a terminal error, not retrying', { err });
      } else {
        this.queue.addRateLimited(key);
        logger.error('reconcile failed, will retry', { err, retries: this.queue.numRequeues(key) });
      }
    } finally {
      this.#metrics.activeWorkers(-1);
      this.queue.done(key);
    }
  }
}
