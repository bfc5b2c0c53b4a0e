import { type Clock, realClock } from './clock.ts';
import { errorMessage } from './errors.ts';
import { microTime } from './leader-election-decision.ts';
import { type Logger, nopLogger } from './logger.ts';
import { coreResources, resourcePath } from './resource.ts';
import { HttpMethod, type RestClient } from './rest.ts';
import type { KubeObject } from './store.ts';

export const REPORTING_CONTROLLER = 'evacuator.dev/kubevirt-evacuator';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export type EventType = 'Normal' | 'Warning';

/** An events.k8s.io/v1 Event as the recorder writes it. */
export interface EventObject {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  eventTime: string;
  reportingController: string;
  reportingInstance: string;
  action: string;
  reason: string;
  regarding: ObjectReference;
  related?: ObjectReference;
  note: string;
  type: EventType;
  series?: { count: number; lastObservedTime: string };
}

/** The API calls the recorder makes, behind an interface for tests. */
export interface EventSink {
  create(event: EventObject): Promise<void>;
  updateSeries(
    namespace: string,
    name: string,
    series: { count: number; lastObservedTime: string },
  ): Promise<void>;
}

export interface EventRecorderOptions {
  sink: EventSink;
  /** The pod name / leader-election identity. */
  reportingInstance: string;
  reportingController?: string;
  clock?: Clock;
  logger?: Logger;
  /** Repeats within this long of the last one join its series. Default 10 min. */
  seriesWindowMs?: number;
  /** Per regarding object: at most `burst` API writes at once, refilled one per `refillMs`. Defaults 25, 5 min. */
  burst?: number;
  refillMs?: number;
}

interface Series {
  event: EventObject;
  count: number;
  lastObservedAt: number;
}

interface Bucket {
  tokens: number;
  last: number;
}

/**
 * Records events.k8s.io/v1 Events. Repeats of (regarding object, reason, action) within the series
 * window update `series.count` / `lastObservedTime` on the existing Event instead of creating new
 * ones, and a per-object token bucket keeps a storm of repeats from flooding the API. Recording never
 * throws or blocks the caller; API errors are logged.
 */
export class EventRecorder {
  readonly #o: EventRecorderOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, Bucket>();
  /** Writes for one series run one after another (a patch must follow its create). */
  readonly #chains = new Map<string, Promise<void>>();
  #seq = 0;

  constructor(options: EventRecorderOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.#log = (options.logger ?? nopLogger).child({ logger: 'events' });
  }

  /** Records an event about `regarding`; returns at once. */
  record(
    regarding: KubeObject | ObjectReference,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related?: KubeObject | ObjectReference,
  ): void {
    try {
      this.#record(toReference(regarding), type, reason, action, note, related && toReference(related));
    } catch (err) {
      this.#log.error('could not record event', { reason, err: errorMessage(err) });
    }
  }

  normal(regarding: KubeObject | ObjectReference, reason: string, action: string, note: string): void {
    this.record(regarding, 'Normal', reason, action, note);
  }

  warning(regarding: KubeObject | ObjectReference, reason: string, action: string, note: string): void {
    this.record(regarding, 'Warning', reason, action, note);
  }

  /** Resolves once every write started so far has finished (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all([...this.#chains.values()]);
  }

  #record(
    regarding: ObjectReference,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related: ObjectReference | undefined,
  ): void {
    const now = this.#clock.now();
    const objectId = [
      regarding.apiVersion,
      regarding.kind,
      regarding.namespace,
      regarding.name,
      regarding.uid,
    ].join('/');
    const key = [objectId, reason, action].join('\u0000');
    const windowMs = this.#o.seriesWindowMs ?? 10 * 60 * 1000;
    const existing = this.#series.get(key);
    if (existing && now - existing.lastObservedAt <= windowMs) {
      existing.count++;
      existing.lastObservedAt = now;
      if (!this.#take(objectId, now)) return;
      const { namespace, name } = existing.event.metadata;
      const series = { count: existing.count, lastObservedTime: microTime(now) };
      // A repeat dropped by the rate limit still counts: the next patch carries the full count.
      this.#enqueue(key, () => this.#o.sink.updateSeries(namespace, name, series));
      return;
    }
    this.#prune(now, windowMs);
    const namespace = regarding.namespace || 'default';
    const event: EventObject = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // client-go names events <regarding>.<hex nanoseconds>; the sequence keeps same-ms names unique.
      metadata: {
        name: `${regarding.name ?? 'unknown'}.${(BigInt(now) * 1_000_000n + BigInt(this.#seq++ % 1_000_000)).toString(16)}`,
        namespace,
      },
      eventTime: microTime(now),
      reportingController: this.#o.reportingController ?? REPORTING_CONTROLLER,
      reportingInstance: this.#o.reportingInstance,
      action,
      reason,
      regarding,
      ...(related ? { related } : {}),
      note: note.length > 1024 ? note.slice(0, 1021) + '...' : note,
      type,
    };
    const entry: Series = { event, count: 1, lastObservedAt: now };
    this.#series.set(key, entry);
    if (!this.#take(objectId, now)) {
      this.#series.delete(key);
      this.#log.debug('event dropped by the per-object rate limit', { reason, object: objectId });
      return;
    }
    // A series whose event never got written would only patch a missing Event: start over next time.
    this.#enqueue(key, () =>
      this.#o.sink.create(event).catch((err: unknown) => {
        if (this.#series.get(key) === entry) this.#series.delete(key);
        throw err;
      }),
    );
  }

  #enqueue(key: string, write: () => Promise<void>): void {
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous
      .then(write)
      .catch((err: unknown) => this.#log.warn('could not write event', { err: errorMessage(err) }))
      .finally(() => {
        if (this.#chains.get(key) === next) this.#chains.delete(key);
      });
    this.#chains.set(key, next);
  }

  #take(objectId: string, now: number): boolean {
    const burst = this.#o.burst ?? 25;
    const refillMs = this.#o.refillMs ?? 5 * 60 * 1000;
    const b = this.#buckets.get(objectId) ?? { tokens: burst, last: now };
    b.tokens = Math.min(burst, b.tokens + (now - b.last) / refillMs);
    b.last = now;
    this.#buckets.set(objectId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Forgets series and buckets nobody has touched for a while, so memory stays bounded. */
  #prune(now: number, windowMs: number): void {
    for (const [k, s] of this.#series) if (now - s.lastObservedAt > windowMs) this.#series.delete(k);
    const refillMs = this.#o.refillMs ?? 5 * 60 * 1000;
    const full = (this.#o.burst ?? 25) * refillMs;
    for (const [k, b] of this.#buckets) if (now - b.last > full) this.#buckets.delete(k);
  }
}

function toReference(o: KubeObject | ObjectReference): ObjectReference {
  if ('metadata' in o && o.metadata) {
    const ref: ObjectReference = {
      apiVersion: o.apiVersion,
      kind: o.kind,
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
    };
    return Object.fromEntries(Object.entries(ref).filter(([, v]) => v !== undefined)) as ObjectReference;
  }
  return { ...(o as ObjectReference) };
}

/** The real sink: POST the Event, merge-patch its series. */
export function kubeEventSink(rest: RestClient): EventSink {
  return {
    async create(event) {
      await rest.request(HttpMethod.POST, resourcePath(coreResources.events, event.metadata.namespace), {
        body: event,
      });
    },
    async updateSeries(namespace, name, series) {
      await rest.request(HttpMethod.PATCH, resourcePath(coreResources.events, namespace, name), {
        body: { series },
        contentType: 'application/merge-patch+json',
      });
    },
  };
}
