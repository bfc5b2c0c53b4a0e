import type { KubeConfig } from '@kubernetes/client-node';
import { type Clock, realClock } from './clock.ts';
import type { BindAddress } from './config.ts';
import { Controller, type ControllerOptions } from './controller.ts';
import { errorMessage } from './errors.ts';
import { EventRecorder, kubeEventSink, type EventSink } from './events.ts';
import { type CheckResult, HttpServer } from './http-server.ts';
import { Informer, type InformerOptions } from './informer.ts';
import { kubeLeaseLock, LeaderElector, type LeaseLock } from './leader-election.ts';
import { kubeListWatch, type ListWatchTransport } from './list-watch.ts';
import { type Logger, nopLogger } from './logger.ts';
import { Metrics } from './metrics.ts';
import type { ResourceDescriptor } from './resource.ts';
import { kubeRestClient, type RestClient } from './rest.ts';
import type { KubeObject } from './store.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Tests inject a fake; defaults to a Lease through `rest`. */
  lock?: LeaseLock;
}

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  /** Pod name (or hostname + random suffix): the lease holder and the events' reportingInstance. */
  identity: string;
  logger?: Logger;
  metrics?: Metrics;
  clock?: Clock;
  /** null/undefined: no leader election (a single replica acts at once). */
  leaderElection?: LeaderElectionOptions | null;
  metricsAddress?: BindAddress | null;
  healthAddress?: BindAddress | null;
  /** After this long, stop() gives up waiting and resolves anyway. Default 30 s. */
  gracefulShutdownTimeoutMs?: number;
  /** Default worker count for controllers that do not set one. */
  workers?: number;
  /** Called when leadership is lost, after controllers were told to stop. Default: process.exit(1). */
  onLeadershipLost?: () => void;
  /** Test seams; default to the real API through kubeConfig. */
  transport?: ListWatchTransport;
  rest?: RestClient;
  eventSink?: EventSink;
}

/** What a caller may choose of a shared informer; the manager supplies the rest of its options. */
export type InformerRequest<T extends KubeObject> = Pick<
  InformerOptions<T>,
  'namespace' | 'labelSelector' | 'fieldSelector' | 'schema' | 'indexers' | 'resyncPeriodMs'
>;

type Phase = 'new' | 'syncing' | 'standby' | 'leading' | 'stopping' | 'stopped';

/**
 * controller-runtime's Manager: owns the shared informers (one per resource + namespace + selectors),
 * the controllers, leader election, the event recorder and the HTTP endpoints.
 *
 * Readiness (/readyz): every informer has synced AND either this replica runs its controllers (no
 * leader election, or it leads) or it is a standby waiting for the lease. Standbys are ready so a
 * rolling update can proceed and so a Service over the pods stays healthy; only a replica whose
 * caches are not synced (or that is shutting down) is unready.
 */
export class Manager {
  readonly kubeConfig: KubeConfig;
  readonly identity: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly rest: RestClient;
  readonly recorder: EventRecorder;
  readonly #o: ManagerOptions;
  readonly #clock: Clock;
  readonly #transport: ListWatchTransport;
  readonly #informers = new Map<string, { informer: Informer<KubeObject>; schema: unknown }>();
  readonly #controllers: Controller[] = [];
  #elector: LeaderElector | undefined;
  #http: HttpServer | undefined;
  #phase: Phase = 'new';
  #stopping: Promise<void> | undefined;
  #boundAddresses: Awaited<ReturnType<HttpServer['start']>> = {};

  constructor(options: ManagerOptions) {
    this.#o = options;
    this.kubeConfig = options.kubeConfig;
    this.identity = options.identity;
    this.logger = options.logger ?? nopLogger;
    this.metrics = options.metrics ?? new Metrics();
    this.#clock = options.clock ?? realClock;
    this.rest = options.rest ?? kubeRestClient(options.kubeConfig);
    this.#transport = options.transport ?? kubeListWatch(options.kubeConfig, { rest: this.rest });
    this.recorder = new EventRecorder({
      sink: options.eventSink ?? kubeEventSink(this.rest),
      reportingInstance: options.identity,
      clock: this.#clock,
      logger: this.logger,
    });
  }

  /**
   * The shared informer for a resource with these namespace/selectors, created on first use. Index
   * functions from every caller are merged; a different schema for the same informer is an error.
   */
  informer<T extends KubeObject>(
    resource: ResourceDescriptor,
    request: InformerRequest<T> = {},
  ): Informer<T> {
    const key = JSON.stringify([
      resource.group,
      resource.version,
      resource.plural,
      request.namespace ?? '',
      request.labelSelector ?? '',
      request.fieldSelector ?? '',
    ]);
    const existing = this.#informers.get(key);
    if (existing) {
      if (request.schema && existing.schema !== request.schema) {
        throw new Error(`informer for ${resource.plural} already exists with a different schema`);
      }
      if (request.indexers) (existing.informer as unknown as Informer<T>).addIndexers(request.indexers);
      return existing.informer as unknown as Informer<T>;
    }
    if (this.#phase !== 'new') throw new Error('informers must be requested before the manager starts');
    const options: InformerOptions<T> = {
      resource,
      transport: this.#transport,
      namespace: request.namespace,
      labelSelector: request.labelSelector,
      fieldSelector: request.fieldSelector,
      schema: request.schema,
      indexers: request.indexers,
      resyncPeriodMs: request.resyncPeriodMs,
      clock: this.#clock,
      logger: this.logger,
    };
    const informer = new Informer<T>(options);
    this.#informers.set(key, {
      informer: informer as unknown as Informer<KubeObject>,
      schema: request.schema,
    });
    return informer;
  }

  addController(options: Omit<ControllerOptions, 'logger' | 'metrics' | 'clock'>): Controller {
    if (this.#phase !== 'new') throw new Error('controllers must be added before the manager starts');
    if (this.#controllers.some((c) => c.name === options.name)) {
      throw new Error(`a controller named "${options.name}" already exists`);
    }
    const controller = new Controller({
      workers: this.#o.workers,
      ...options,
      logger: this.logger,
      metrics: this.metrics,
      clock: this.#clock,
    });
    this.#controllers.push(controller);
    return controller;
  }

  /** All informers synced. */
  hasSynced(): boolean {
    return [...this.#informers.values()].every(({ informer }) => informer.hasSynced());
  }

  isLeader(): boolean {
    return this.#phase === 'leading';
  }

  readiness(): CheckResult {
    const synced = this.hasSynced();
    const acting = this.#phase === 'leading' && this.#controllers.every((c) => c.isRunning());
    const standby = this.#phase === 'standby';
    return {
      ok: synced && (acting || standby),
      checks: { informers: synced, controllers: acting ? true : standby ? 'standby' : this.#phase },
    };
  }

  /** The addresses the HTTP endpoints bound to (after start). */
  addresses(): Awaited<ReturnType<HttpServer['start']>> {
    return this.#boundAddresses;
  }

  /**
   * Serves health/metrics, starts informers and waits for them to sync, then either starts the
   * controllers (no leader election) or campaigns for the lease and starts them once leading.
   * Resolves once controllers run or the replica is a synced standby; false if stopped before.
   */
  async start(): Promise<boolean> {
    if (this.#phase !== 'new') throw new Error('manager already started');
    this.#phase = 'syncing';
    const metricsAddress = this.#o.metricsAddress ?? null;
    const healthAddress = this.#o.healthAddress ?? null;
    if (metricsAddress || healthAddress) {
      this.#http = new HttpServer({
        metricsAddress,
        healthAddress,
        metrics: () => this.metrics.render(),
        healthz: () => ({ ok: true }),
        readyz: () => this.readiness(),
        logger: this.logger,
      });
      this.#boundAddresses = await this.#http.start();
    }
    for (const { informer } of this.#informers.values()) informer.start();
    const synced = await Promise.all(
      [...this.#informers.values()].map(({ informer }) => informer.waitForSync()),
    );
    if (!synced.every(Boolean) || this.#isStopping()) return false;
    this.logger.info('caches synced', { informers: this.#informers.size });
    const le = this.#o.leaderElection;
    if (!le) {
      await this.#startControllers();
      return !this.#isStopping();
    }
    this.#phase = 'standby';
    this.#elector = new LeaderElector({
      lock: le.lock ?? kubeLeaseLock(this.rest, le.namespace, le.name),
      identity: this.identity,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      clock: this.#clock,
      logger: this.logger,
      setLeaderMetric: (v) => this.metrics.setLeader(le.name, v),
      onStartedLeading: () => void this.#startControllers(),
      onStoppedLeading: () => this.#leadershipLost(),
    });
    this.#elector.start();
    return true;
  }

  async #startControllers(): Promise<void> {
    if (this.#isStopping()) return;
    this.#phase = 'leading';
    this.logger.info('starting controllers', { controllers: this.#controllers.map((c) => c.name) });
    await Promise.all(this.#controllers.map((c) => c.start()));
  }

  #leadershipLost(): void {
    this.logger.error('leadership lost: stopping controllers at once and exiting');
    this.#phase = 'stopping';
    for (const c of this.#controllers) void c.stop({ abort: true });
    (this.#o.onLeadershipLost ?? (() => process.exit(1)))();
  }

  #isStopping(): boolean {
    return this.#phase === 'stopping' || this.#phase === 'stopped';
  }

  /**
   * Graceful shutdown: stop workers (waiting for in-flight reconciles), release the lease, close
   * watches, flush events, close the HTTP servers. Gives up after the grace period.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#phase = 'stopping';
    const graceMs = this.#o.gracefulShutdownTimeoutMs ?? 30_000;
    const steps = (async () => {
      await Promise.all(this.#controllers.map((c) => c.stop()));
      await this.#elector?.stop();
      await Promise.all([...this.#informers.values()].map(({ informer }) => informer.stop()));
      await this.recorder.flush();
    })();
    let timer: { cancel(): void } | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve('timeout'), graceMs);
    });
    try {
      const outcome = await Promise.race([steps.then(() => 'done' as const), timedOut]);
      if (outcome === 'timeout') this.logger.warn('graceful shutdown timed out', { timeoutMs: graceMs });
    } catch (err) {
      this.logger.error('error during shutdown', { err: errorMessage(err) });
    } finally {
      timer?.cancel();
      await this.#http?.stop();
      this.#phase = 'stopped';
      this.logger.info('stopped');
    }
  }
}
