import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { WorkQueueMetrics } from './workqueue.ts';

export type ReconcileResultLabel = 'success' | 'error' | 'requeue' | 'requeue_after';

/** What a controller reports about its reconciles. */
export interface ControllerMetrics {
  reconciled(result: ReconcileResultLabel, seconds: number): void;
  /** Counted on top of `reconciled('error')`; terminal errors also count here. */
  errored(terminal: boolean): void;
  activeWorkers(delta: number): void;
  maxConcurrentReconciles(n: number): void;
}

export const nopControllerMetrics: ControllerMetrics = {
  reconciled: () => {},
  errored: () => {},
  activeWorkers: () => {},
  maxConcurrentReconciles: () => {},
};

/** controller-runtime's reconcile-time buckets. */
const reconcileBuckets = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25,
  1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
/** client-go's workqueue buckets: 10 ns ·10ⁿ, 12 of them. */
const queueBuckets = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

interface UnfinishedWork {
  unfinishedWork(): { unfinishedSeconds: number; longestSeconds: number };
}

/**
 * The operator's own Prometheus registry, with the series names controller-runtime and client-go
 * dashboards already know, plus prom-client's default process metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #queues = new Map<string, UnfinishedWork>();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalReconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly queueRetries: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly unfinishedWork: Gauge<'name'>;
  readonly longestRunning: Gauge<'name'>;
  readonly leaderStatus: Gauge<'name'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.terminalReconcileErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: reconcileBuckets,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.queueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name'],
      registers,
    });
    this.queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: queueBuckets,
      registers,
    });
    this.workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: queueBuckets,
      registers,
    });
    const queues = this.#queues;
    this.unfinishedWork = new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and has not been observed by work_duration',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name }, q.unfinishedWork().unfinishedSeconds);
      },
    });
    this.longestRunning = new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: ['name'],
      registers,
      collect() {
        for (const [name, q] of queues) this.set({ name }, q.unfinishedWork().longestSeconds);
      },
    });
    this.leaderStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });
  }

  /** Hooks for the work queue called `name`. */
  queueMetrics(name: string): WorkQueueMetrics {
    return {
      depth: (v) => this.queueDepth.set({ name }, v),
      added: () => this.queueAdds.inc({ name }),
      queueDuration: (s) => this.queueDuration.observe({ name }, s),
      workDuration: (s) => this.workDuration.observe({ name }, s),
      retried: () => this.queueRetries.inc({ name }),
    };
  }

  /** Makes `queue`'s in-progress work visible at scrape time. */
  trackQueue(name: string, queue: UnfinishedWork): void {
    this.#queues.set(name, queue);
  }

  controllerMetrics(controller: string): ControllerMetrics {
    // Zero-valued series exist from the start, as in controller-runtime.
    for (const result of ['success', 'error', 'requeue', 'requeue_after'] as const) {
      this.reconcileTotal.inc({ controller, result }, 0);
    }
    this.reconcileErrors.inc({ controller }, 0);
    this.terminalReconcileErrors.inc({ controller }, 0);
    this.activeWorkers.set({ controller }, 0);
    return {
      reconciled: (result, seconds) => {
        this.reconcileTotal.inc({ controller, result });
        this.reconcileTime.observe({ controller }, seconds);
      },
      errored: (terminal) => {
        this.reconcileErrors.inc({ controller });
        if (terminal) this.terminalReconcileErrors.inc({ controller });
      },
      activeWorkers: (delta) => this.activeWorkers.inc({ controller }, delta),
      maxConcurrentReconciles: (n) => this.maxConcurrentReconciles.set({ controller }, n),
    };
  }

  setLeader(name: string, leading: boolean): void {
    this.leaderStatus.set({ name }, leading ? 1 : 0);
  }

  /** The text exposition format, for /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
