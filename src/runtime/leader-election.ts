import { type Clock, realClock, sleep } from './clock.ts';
import { errorMessage, isNotFound } from './errors.ts';
import {
  decide,
  type LeaderElectionRecord,
  microTime,
  nextRecord,
  recordChanged,
  releasedRecord,
} from './leader-election-decision.ts';
import { type Logger, nopLogger } from './logger.ts';
import { resourcePath, coreResources } from './resource.ts';
import { HttpMethod, type RestClient } from './rest.ts';

/**
 * The lease I/O, behind an interface so tests drive it by hand. Every call must settle (reject) once
 * `signal` aborts: the elector bounds each attempt by it.
 */
export interface LeaseLock {
  /** null when the Lease does not exist. */
  get(signal?: AbortSignal): Promise<{ record: LeaderElectionRecord; resourceVersion: string } | null>;
  /** Throws (409) if it already exists. Returns the new resourceVersion. */
  create(record: LeaderElectionRecord, signal?: AbortSignal): Promise<string>;
  /** Optimistic: throws 409 Conflict unless `resourceVersion` is current. Returns the new one. */
  update(record: LeaderElectionRecord, resourceVersion: string, signal?: AbortSignal): Promise<string>;
  describe(): string;
}

export interface LeaderElectorOptions {
  lock: LeaseLock;
  identity: string;
  /** Defaults: 15 s, 10 s, 2 s (client-go / controller-runtime). */
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  onStartedLeading?: () => void;
  /** Called at once, and only, when leadership held by us is lost (not on a graceful stop). */
  onStoppedLeading?: () => void;
  onNewLeader?: (identity: string) => void;
  /** Reports leader_election_master_status. */
  setLeaderMetric?: (leading: boolean) => void;
}

/** How long after an observed expiry a standby reads the lease again. */
const EXPIRY_MARGIN_MS = 10;

/**
 * client-go's LeaderElector on a Lease: acquire (retrying every retryPeriod with jitter), then renew
 * every retryPeriod; if a renewal has not succeeded within renewDeadline, or another holder shows up,
 * leadership is lost. Leadership is not fencing: in-flight calls of a deposed leader are not stopped.
 */
export class LeaderElector {
  readonly #o: LeaderElectorOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  readonly #stop = new AbortController();
  #observed: LeaderElectionRecord | null = null;
  #observedAt = 0;
  /** When, on our clock, another holder's lease expires unless renewed; 0 when nobody else holds it. */
  #heldUntil = 0;
  #resourceVersion = '';
  #leading = false;
  #lost = false;
  #lastRenew = 0;
  #knownLeader = '';
  #running: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.#log = (options.logger ?? nopLogger).child({
      logger: 'leader-election',
      lease: options.lock.describe(),
    });
    this.#leaseMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryMs = options.retryPeriodMs ?? 2_000;
    if (this.#renewDeadlineMs >= this.#leaseMs)
      throw new Error('renew deadline must be shorter than the lease duration');
  }

  isLeader(): boolean {
    return this.#leading;
  }

  /** Starts campaigning in the background. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops campaigning; if leading, releases the lease so a standby can take over at once. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    if (!this.#leading) return;
    this.#leading = false;
    this.#o.setLeaderMetric?.(false);
    if (!this.#observed) return;
    const attempt = this.#attemptSignal();
    try {
      await this.#o.lock.update(
        releasedRecord(this.#observed, microTime(this.#clock.now())),
        this.#resourceVersion,
        attempt.signal,
      );
      this.#log.info('released the lease');
    } catch (err) {
      this.#log.warn('could not release the lease', { err: errorMessage(err) });
    } finally {
      attempt.done();
    }
  }

  /**
   * A signal that aborts after the renew deadline (controller-runtime gives its leader-election
   * client that timeout): a request nobody answers, on a half-open connection, must neither hold a
   * standby back from taking over nor keep stop() waiting.
   */
  #attemptSignal(linkStop = false): { signal: AbortSignal; done(): void } {
    const controller = new AbortController();
    const timer = this.#clock.setTimeout(
      () => controller.abort(new Error(`lease request timed out after ${this.#renewDeadlineMs} ms`)),
      this.#renewDeadlineMs,
    );
    const onStop = () => controller.abort(new Error('stopping'));
    if (linkStop) this.#stop.signal.addEventListener('abort', onStop, { once: true });
    return {
      signal: controller.signal,
      done: () => {
        timer.cancel();
        this.#stop.signal.removeEventListener('abort', onStop);
      },
    };
  }

  async #run(): Promise<void> {
    this.#o.setLeaderMetric?.(false);
    this.#log.info('attempting to acquire the lease', { identity: this.#o.identity });
    while (!this.#stop.signal.aborted && !this.#leading) {
      if (await this.#tryAcquireOrRenew()) break;
      const jitter = 1 + 1.2 * (this.#o.random ?? Math.random)();
      await sleep(this.#clock, this.#nextAttemptIn(this.#retryMs * jitter), this.#stop.signal);
    }
    if (!this.#leading || this.#stop.signal.aborted) return;
    this.#log.info('became leader', { identity: this.#o.identity });
    this.#o.setLeaderMetric?.(true);
    this.#o.onStartedLeading?.();
    while (!this.#stop.signal.aborted) {
      await sleep(this.#clock, this.#retryMs, this.#stop.signal);
      if (this.#stop.signal.aborted) return;
      const renewed = await this.#renewBeforeDeadline();
      if (!this.#leading) return;
      if (!renewed) return this.#lose('failed to renew the lease within the renew deadline');
    }
  }

  /**
   * A standby retries every jittered retry period, as client-go does, but also right after the
   * holder's lease expires by our observation: a dead leader is replaced within a lease duration
   * plus one retry period of its last renewal, not up to two retry periods.
   */
  #nextAttemptIn(retryMs: number): number {
    const untilExpiry = this.#heldUntil - this.#clock.now();
    return untilExpiry >= 0 ? Math.min(retryMs, untilExpiry + EXPIRY_MARGIN_MS) : retryMs;
  }

  /** Retries every retryPeriod until renewed, or resolves false once the renew deadline has passed. */
  async #renewBeforeDeadline(): Promise<boolean> {
    for (;;) {
      const remaining = this.#lastRenew + this.#renewDeadlineMs - this.#clock.now();
      if (remaining <= 0) return false;
      const deadline = new AbortController();
      const timedOut = sleep(this.#clock, remaining, deadline.signal).then(() => 'timeout' as const);
      const outcome = await Promise.race([this.#tryAcquireOrRenew(), timedOut]);
      deadline.abort();
      if (outcome === true) return true;
      if (outcome === 'timeout' || !this.#leading || this.#stop.signal.aborted) return false;
      await sleep(this.#clock, Math.min(this.#retryMs, Math.max(0, remaining)), this.#stop.signal);
      if (this.#stop.signal.aborted) return true;
    }
  }

  #lose(why: string): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#lost = true;
    this.#log.error('leadership lost', { reason: why });
    this.#o.setLeaderMetric?.(false);
    this.#o.onStoppedLeading?.();
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    // A standby drops its attempt at once on stop; a leader's renewal may finish so the release sees it.
    const attempt = this.#attemptSignal(!this.#leading);
    try {
      return await this.#tryAcquireOrRenewWithin(attempt.signal);
    } finally {
      attempt.done();
    }
  }

  async #tryAcquireOrRenewWithin(signal: AbortSignal): Promise<boolean> {
    const lock = this.#o.lock;
    const leaseSeconds = Math.round(this.#leaseMs / 1000);
    let current: Awaited<ReturnType<LeaseLock['get']>>;
    try {
      current = await lock.get(signal);
    } catch (err) {
      if (!isNotFound(err)) {
        this.#log.warn('could not read the lease', { err: errorMessage(err) });
        return false;
      }
      current = null;
    }
    const now = this.#clock.now();
    if (current && recordChanged(current.record, this.#observed)) {
      this.#observed = current.record;
      this.#observedAt = now;
    }
    if (current) this.#resourceVersion = current.resourceVersion;
    this.#noteLeader(current?.record.holderIdentity ?? '');
    const decision = decide({
      record: current?.record ?? null,
      observedAt: this.#observedAt,
      now,
      identity: this.#o.identity,
      leading: this.#leading,
    });
    this.#heldUntil = decision.action === 'wait' ? decision.expiresAt : 0;
    if (decision.action === 'wait') return false;
    if (decision.action === 'lost') {
      this.#lose(`lease now held by ${decision.holder}`);
      return false;
    }
    const record = nextRecord(
      decision,
      current?.record ?? null,
      this.#o.identity,
      microTime(now),
      leaseSeconds,
    );
    try {
      this.#resourceVersion =
        decision.action === 'create'
          ? await lock.create(record, signal)
          : await lock.update(record, this.#resourceVersion, signal);
    } catch (err) {
      this.#log.debug('could not write the lease', { action: decision.action, err: errorMessage(err) });
      return false;
    }
    // A renewal that outlived its deadline must not resurrect a leadership already given up.
    if (this.#lost) return false;
    this.#observed = record;
    this.#observedAt = now;
    this.#lastRenew = now;
    this.#leading = true;
    this.#noteLeader(this.#o.identity);
    return true;
  }

  #noteLeader(holder: string): void {
    if (!holder || holder === this.#knownLeader) return;
    this.#knownLeader = holder;
    if (holder !== this.#o.identity) this.#log.info('new leader elected', { leader: holder });
    this.#o.onNewLeader?.(holder);
  }
}

interface LeaseObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  spec?: Partial<LeaderElectionRecord>;
}

/** A LeaseLock on a coordination.k8s.io/v1 Lease through raw JSON calls. */
export function kubeLeaseLock(rest: RestClient, namespace: string, name: string): LeaseLock {
  const path = resourcePath(coreResources.leases, namespace, name);
  let last: LeaseObject | undefined;
  const toRecord = (lease: LeaseObject): LeaderElectionRecord => ({
    holderIdentity: lease.spec?.holderIdentity ?? '',
    leaseDurationSeconds: lease.spec?.leaseDurationSeconds ?? 0,
    acquireTime: lease.spec?.acquireTime,
    renewTime: lease.spec?.renewTime,
    leaseTransitions: lease.spec?.leaseTransitions ?? 0,
  });
  return {
    describe: () => `${namespace}/${name}`,
    async get(signal) {
      try {
        last = await rest.request<LeaseObject>(HttpMethod.GET, path, { signal });
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
      return { record: toRecord(last), resourceVersion: last.metadata?.resourceVersion ?? '' };
    },
    async create(record, signal) {
      const body: LeaseObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace },
        spec: record,
      };
      last = await rest.request<LeaseObject>(HttpMethod.POST, resourcePath(coreResources.leases, namespace), {
        body,
        signal,
      });
      return last.metadata?.resourceVersion ?? '';
    },
    async update(record, resourceVersion, signal) {
      const body: LeaseObject = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { ...(last?.metadata ?? {}), name, namespace, resourceVersion },
        spec: record,
      };
      last = await rest.request<LeaseObject>(HttpMethod.PUT, path, { body, signal });
      return last.metadata?.resourceVersion ?? '';
    },
  };
}
