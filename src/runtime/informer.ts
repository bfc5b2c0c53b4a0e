import type { ZodType } from 'zod';
import { type Clock, realClock, sleep, type Timer } from './clock.ts';
import { errorMessage, isGone } from './errors.ts';
import type { ListWatchTransport, WatchEvent } from './list-watch.ts';
import { type Logger, nopLogger } from './logger.ts';
import { apiVersionOf, type ResourceDescriptor } from './resource.ts';
import { deepFreeze, type IndexFunc, type KubeObject, objectKey, Store } from './store.ts';

export interface DeleteInfo {
  /**
   * True when the deletion was inferred from a relist (the watch was down when it happened), so the
   * object is the last state seen, not the final one (client-go `DeletedFinalStateUnknown`).
   */
  finalStateUnknown: boolean;
}

/** Handlers must be quick and must not throw: map to keys and enqueue. Throws are caught and logged. */
export interface EventHandlers<T> {
  add?(obj: T): void;
  /** Also called on every periodic resync with `oldObj === newObj`. */
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T, info: DeleteInfo): void;
}

export interface InformerOptions<T extends KubeObject> {
  resource: ResourceDescriptor;
  transport: ListWatchTransport;
  /** Only this namespace (namespaced resources); all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Parses every object at the boundary; objects that fail are logged and skipped (a cached object
   * that stops parsing keeps its last good version). Use loose objects so unknown fields survive.
   */
  schema?: ZodType<T>;
  indexers?: Record<string, IndexFunc<T>>;
  /** update(obj, obj) for every cached object this often; 0 disables. Default 10 h (controller-runtime). */
  resyncPeriodMs?: number;
  /** Abort and relist when a watch delivers no event or bookmark for this long. Default 150 s. */
  inactivityTimeoutMs?: number;
  /** Server-side watch timeout, randomized in [min, 2·min) like client-go. Default 300 s. */
  minWatchTimeoutSeconds?: number;
  /** Retry backoff after errors: initial·2ⁿ capped at max, plus up to 100% jitter. Defaults 800 ms, 30 s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  pageSize?: number;
  /** A list request taking longer than this is aborted and retried. Default 60 s (real time). */
  listTimeoutMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** [0, 1) source for jitter; Math.random by default. */
  random?: () => number;
}

type WatchOutcome = 'closed' | 'gone' | 'inactive' | 'stopped';

/** A watch that closed this soon without any event is treated as an error (client-go "very short watch"). */
const SHORT_WATCH_MS = 1000;

/**
 * One resource (optionally one namespace / label selector): list, then watch from the list's
 * resourceVersion, keeping an indexed cache of frozen objects and telling handlers what changed.
 * Never gives up: every error is retried with jittered backoff; 410 Gone and a silent watch relist;
 * a relist diffs against the cache so deletions missed while the watch was down become tombstones.
 */
export class Informer<T extends KubeObject = KubeObject> {
  readonly resource: ResourceDescriptor;
  readonly #o: InformerOptions<T>;
  readonly #store: Store<T>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #random: () => number;
  #handlers: EventHandlers<T>[] = [];
  #resourceVersion = '';
  #synced = false;
  #syncWaiters: ((synced: boolean) => void)[] = [];
  #stopped = false;
  #running: Promise<void> | undefined;
  #stop = new AbortController();
  #abortWatch: (() => void) | undefined;
  #resyncTimer: Timer | undefined;
  #failures = 0;

  constructor(options: InformerOptions<T>) {
    this.#o = options;
    this.resource = options.resource;
    this.#clock = options.clock ?? realClock;
    this.#random = options.random ?? Math.random;
    this.#log = (options.logger ?? nopLogger).child({
      logger: 'informer',
      resource: [options.resource.plural, options.resource.group].filter(Boolean).join('.'),
      ...(options.namespace ? { namespace: options.namespace } : {}),
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    });
    this.#store = new Store<T>(options.indexers ?? {}, (index, key, err) =>
      this.#log.error('index function threw', { index, key, err }),
    );
  }

  /** Registers handlers; if the cache already holds objects, `add` is replayed for each. Returns a remover. */
  addEventHandler(handlers: EventHandlers<T>): () => void {
    this.#handlers.push(handlers);
    if (handlers.add) for (const obj of this.#store.list()) this.#call(() => handlers.add!(obj), 'add');
    return () => {
      this.#handlers = this.#handlers.filter((h) => h !== handlers);
    };
  }

  /** Adds index functions before the informer starts (shared informers gather them from every user). */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    if (this.#running)
      throw new Error(`informer for ${this.resource.plural} already started: add indexers before start`);
    this.#store.addIndexers(indexers);
  }

  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = this.#run();
  }

  async stop(): Promise<void> {
    if (this.#stopped) return this.#running;
    this.#stopped = true;
    this.#stop.abort();
    this.#abortWatch?.();
    this.#resyncTimer?.cancel();
    for (const w of this.#syncWaiters.splice(0)) w(false);
    await this.#running;
  }

  hasSynced(): boolean {
    return this.#synced;
  }

  /** Resolves true once the first list is in the cache, false if stopped (or `signal` aborts) first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.#synced) return Promise.resolve(true);
    if (this.#stopped || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (v: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = () => {
        this.#syncWaiters = this.#syncWaiters.filter((w) => w !== done);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(done);
    });
  }

  /** The resourceVersion the next watch starts from. */
  lastSyncResourceVersion(): string {
    return this.#resourceVersion;
  }

  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.#store.getByName(namespace, name);
  }

  list(): T[] {
    return this.#store.list();
  }

  byIndex(index: string, value: string): T[] {
    return this.#store.byIndex(index, value);
  }

  async #run(): Promise<void> {
    let needList = true;
    while (!this.#stopped) {
      try {
        if (needList) {
          await this.#relist();
          needList = false;
        }
        const started = this.#clock.now();
        let events = 0;
        const outcome = await this.#watchOnce(() => events++);
        if (outcome === 'stopped') break;
        if (outcome === 'gone') {
          this.#log.info('watch resourceVersion expired (410 Gone), relisting', {
            resourceVersion: this.#resourceVersion,
          });
          needList = true;
        } else if (outcome === 'inactive') {
          this.#log.warn('watch silent for too long, relisting', { timeoutMs: this.#inactivityMs() });
          needList = true;
        } else if (events === 0 && this.#clock.now() - started < SHORT_WATCH_MS) {
          throw new Error('watch closed at once without any event');
        }
        this.#failures = 0;
      } catch (err) {
        if (this.#stopped) break;
        if (isGone(err)) {
          this.#log.info('resourceVersion expired (410 Gone), relisting', { err: errorMessage(err) });
          needList = true;
          continue;
        }
        const delay = this.#backoff();
        this.#log.warn(needList ? 'list failed, retrying' : 'watch failed, retrying', {
          err,
          retryInMs: Math.round(delay),
        });
        await sleep(this.#clock, delay, this.#stop.signal);
      }
    }
  }

  #backoff(): number {
    const initial = this.#o.backoffInitialMs ?? 800;
    const max = this.#o.backoffMaxMs ?? 30_000;
    const base = Math.min(max, initial * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return base * (1 + this.#random());
  }

  #inactivityMs(): number {
    return this.#o.inactivityTimeoutMs ?? 150_000;
  }

  async #relist(): Promise<void> {
    const fresh = new Map<string, T>();
    /** Keys that exist but failed to parse: not deleted, the last good version stays. */
    const unparsable = new Set<string>();
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.#o.transport.list(this.resource, {
        namespace: this.#o.namespace,
        labelSelector: this.#o.labelSelector,
        fieldSelector: this.#o.fieldSelector,
        limit: this.#o.pageSize ?? 500,
        continue: token,
        signal: AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#o.listTimeoutMs ?? 60_000)]),
      });
      if (this.#stopped) return;
      for (const raw of page.items) {
        const obj = this.#parse(raw);
        if (obj) fresh.set(objectKey(obj), obj);
        else {
          const key = rawKey(raw);
          if (key) unparsable.add(key);
        }
      }
      token = page.continue;
      resourceVersion = page.resourceVersion;
    } while (token);

    for (const [key, obj] of fresh) {
      const old = this.#store.get(key);
      if (!old) {
        this.#store.set(obj);
        this.#dispatch((h) => h.add?.(obj), 'add');
      } else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        this.#store.set(obj);
        this.#dispatch((h) => h.update?.(old, obj), 'update');
      }
    }
    for (const key of this.#store.keys()) {
      if (fresh.has(key) || unparsable.has(key)) continue;
      const old = this.#store.delete(key)!;
      this.#dispatch((h) => h.delete?.(old, { finalStateUnknown: true }), 'delete');
    }
    this.#resourceVersion = resourceVersion;
    this.#log.debug('listed', { count: fresh.size, resourceVersion });
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w(true);
      this.#scheduleResync();
    }
  }

  #watchOnce(onAnyEvent: () => void): Promise<WatchOutcome> {
    if (this.#stopped) return Promise.resolve('stopped');
    return new Promise((resolve, reject) => {
      let settled = false;
      let handle: { abort(): void } | undefined;
      let watchdog: Timer | undefined;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        watchdog?.cancel();
        this.#abortWatch = undefined;
        handle?.abort();
        settle();
      };
      const arm = () => {
        watchdog?.cancel();
        watchdog = this.#clock.setTimeout(() => finish(() => resolve('inactive')), this.#inactivityMs());
      };
      this.#abortWatch = () => finish(() => resolve('stopped'));
      arm();
      const minTimeout = this.#o.minWatchTimeoutSeconds ?? 300;
      const onEvent = (event: WatchEvent) => {
        if (settled) return;
        arm();
        onAnyEvent();
        if (event.type === 'ERROR') {
          const status = event.object as { code?: number; message?: string } | undefined;
          if (status?.code === 410) return finish(() => resolve('gone'));
          const err = Object.assign(new Error(`watch error: ${status?.message ?? 'unknown'}`), {
            code: status?.code,
          });
          return finish(() => reject(err));
        }
        this.#apply(event);
      };
      const onDone = (err?: unknown) => {
        if (err === undefined || err === null) return finish(() => resolve('closed'));
        if (isGone(err)) return finish(() => resolve('gone'));
        finish(() => reject(err));
      };
      this.#o.transport
        .watch(
          this.resource,
          {
            namespace: this.#o.namespace,
            labelSelector: this.#o.labelSelector,
            fieldSelector: this.#o.fieldSelector,
            resourceVersion: this.#resourceVersion,
            timeoutSeconds: Math.floor(minTimeout * (1 + this.#random())),
          },
          onEvent,
          onDone,
        )
        .then(
          (h) => {
            handle = h;
            if (settled) h.abort();
          },
          (err) => onDone(err ?? new Error('watch failed')),
        );
    });
  }

  #apply(event: WatchEvent): void {
    const rv = (event.object as KubeObject | undefined)?.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.#resourceVersion = rv;
      return;
    }
    const obj = this.#parse(event.object);
    if (rv) this.#resourceVersion = rv;
    if (event.type === 'DELETED') {
      // An object whose last state no longer parses is gone all the same: drop what we cached of it.
      const key = obj ? objectKey(obj) : rawKey(event.object);
      const cached = key === undefined ? undefined : this.#store.delete(key);
      const gone = obj ?? cached;
      if (gone === undefined) return;
      deepFreeze(gone);
      this.#dispatch((h) => h.delete?.(gone, { finalStateUnknown: false }), 'delete');
      return;
    }
    if (!obj) return;
    const old = this.#store.set(obj);
    if (old) this.#dispatch((h) => h.update?.(old, obj), 'update');
    else this.#dispatch((h) => h.add?.(obj), 'add');
  }

  #parse(input: unknown): T | undefined {
    // Items of a list carry no apiVersion/kind (only the list does); fill them in as client-go's
    // decoder does, so cached objects are complete and can be written back as they are.
    const raw =
      typeof input === 'object' && input !== null
        ? { apiVersion: apiVersionOf(this.#o.resource), kind: this.#o.resource.kind, ...input }
        : input;
    if (!this.#o.schema) return raw as T;
    const result = this.#o.schema.safeParse(raw);
    if (result.success) return result.data;
    this.#log.error('object failed to parse, skipped', {
      object: rawKey(raw),
      issues: result.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`),
    });
    return undefined;
  }

  #scheduleResync(): void {
    const period = this.#o.resyncPeriodMs ?? 10 * 60 * 60 * 1000;
    if (period <= 0 || this.#stopped) return;
    this.#resyncTimer = this.#clock.setTimeout(() => {
      for (const obj of this.#store.list()) this.#dispatch((h) => h.update?.(obj, obj), 'update');
      this.#scheduleResync();
    }, period);
  }

  #dispatch(fn: (h: EventHandlers<T>) => void, what: string): void {
    for (const h of this.#handlers) this.#call(() => fn(h), what);
  }

  #call(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      this.#log.error('event handler threw', { handler: what, err });
    }
  }
}

function rawKey(raw: unknown): string | undefined {
  const meta = (raw as KubeObject | undefined)?.metadata;
  if (!meta?.name) return undefined;
  return objectKey(raw as KubeObject);
}
