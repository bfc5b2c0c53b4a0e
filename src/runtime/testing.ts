/** Test doubles for code built on the runtime (not used in production paths). */
import type { ListOptions, ListResult, ListWatchTransport, WatchEvent, WatchOptions } from './list-watch.ts';
import type { ResourceDescriptor } from './resource.ts';

export interface FakeWatch {
  resource: ResourceDescriptor;
  options: WatchOptions;
  emit(type: WatchEvent['type'], object: unknown): void;
  /** Ends the watch: cleanly without an argument, as a failure with one. */
  close(err?: unknown): void;
  aborted: boolean;
}

/**
 * A list/watch transport driven by hand, like client-node's cache_test.ts: queue list results (or
 * errors) in `listResults`; a list with nothing queued stays pending until its signal aborts. Every watch opened is kept in
 * `watches`.
 */
export class FakeTransport implements ListWatchTransport {
  listResults: (ListResult | Error)[] = [];
  listCalls: (ListOptions & { resource: ResourceDescriptor })[] = [];
  watches: FakeWatch[] = [];

  async list(resource: ResourceDescriptor, options: ListOptions): Promise<ListResult> {
    this.listCalls.push({ ...options, resource });
    const next = this.listResults.shift();
    if (!next) {
      // Stays pending until the caller aborts, like a real request.
      return new Promise((_resolve, reject) => {
        options.signal?.addEventListener('abort', () => reject(new Error('list aborted')), { once: true });
      });
    }
    if (next instanceof Error) throw next;
    return next;
  }

  async watch(
    resource: ResourceDescriptor,
    options: WatchOptions,
    onEvent: (e: WatchEvent) => void,
    onDone: (err?: unknown) => void,
  ) {
    let ended = false;
    const w: FakeWatch = {
      resource,
      options,
      aborted: false,
      emit: (type, object) => {
        if (!ended) onEvent({ type, object });
      },
      close: (err) => {
        if (ended) return;
        ended = true;
        onDone(err);
      },
    };
    this.watches.push(w);
    return {
      abort: () => {
        w.aborted = true;
        ended = true;
      },
    };
  }

  lastWatch(): FakeWatch {
    const w = this.watches.at(-1);
    if (!w) throw new Error('no watch opened');
    return w;
  }
}
