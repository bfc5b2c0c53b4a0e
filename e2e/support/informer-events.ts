// Records what an informer tells its handlers, and compares its cache with what the API server
// lists, so specs can wait for "the delete of X" and check "the cache is the truth".
import type { DeleteInfo, Informer } from '../../src/runtime/informer.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import type { KubeObject } from '../../src/runtime/store.ts';
import { eventually } from './poll.ts';

export type Seen =
  | { type: 'add'; obj: KubeObject; at: number }
  | { type: 'update'; old: KubeObject; obj: KubeObject; at: number }
  | { type: 'delete'; obj: KubeObject; info: DeleteInfo; at: number };

export class InformerEvents {
  readonly seen: Seen[] = [];

  /** Handlers to pass to `informer.addEventHandler`. */
  handlers() {
    return {
      add: (obj: KubeObject) => this.seen.push({ type: 'add', obj, at: Date.now() }),
      update: (old: KubeObject, obj: KubeObject) =>
        this.seen.push({ type: 'update', old, obj, at: Date.now() }),
      delete: (obj: KubeObject, info: DeleteInfo) =>
        this.seen.push({ type: 'delete', obj, info, at: Date.now() }),
    };
  }

  /** Waits for an event of `type` about `name` (after `since`, an index into `seen`) matching `extra`. */
  waitFor<K extends Seen['type']>(
    type: K,
    name: string,
    options: { since?: number; timeoutMs?: number; where?: (e: Extract<Seen, { type: K }>) => boolean } = {},
  ): Promise<Extract<Seen, { type: K }>> {
    return eventually(
      `the informer to deliver ${type} of ${name}`,
      () =>
        this.seen
          .slice(options.since ?? 0)
          .find(
            (e): e is Extract<Seen, { type: K }> =>
              e.type === type &&
              e.obj.metadata?.name === name &&
              (options.where?.(e as Extract<Seen, { type: K }>) ?? true),
          ),
      options.timeoutMs ?? 30_000,
      50,
    );
  }

  summary(): string {
    return this.seen
      .map((e) => {
        const what = `${e.type} ${e.obj.metadata?.name}@${e.obj.metadata?.resourceVersion}`;
        return e.type === 'delete' && e.info.finalStateUnknown ? `${what} (final state unknown)` : what;
      })
      .join('\n');
  }
}

/** A debug logger that keeps parsed lines in memory: specs assert on them and print them on failure. */
export function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'debug',
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, lines };
}

/** name → resourceVersion, for comparing a cache with a list. */
export function versions(items: readonly KubeObject[]): Record<string, string> {
  return Object.fromEntries(
    items
      .map((o) => [o.metadata?.name ?? '', o.metadata?.resourceVersion ?? ''])
      .sort(([a], [b]) => (a! < b! ? -1 : 1)),
  );
}

/**
 * Waits until the informer's cache holds exactly what `list()` returns (names and resourceVersions),
 * and returns both, so the caller asserts on them.
 */
export async function cacheMatchesList(
  informer: Informer<KubeObject>,
  list: () => Promise<readonly KubeObject[]>,
  timeoutMs = 30_000,
): Promise<{ cache: Record<string, string>; listed: Record<string, string> }> {
  let last: { cache: Record<string, string>; listed: Record<string, string> } | undefined;
  try {
    return await eventually(
      'the informer cache to equal a fresh list',
      async () => {
        const listed = versions(await list());
        const cache = versions(informer.list());
        last = { cache, listed };
        return JSON.stringify(cache) === JSON.stringify(listed) ? last : undefined;
      },
      timeoutMs,
    );
  } catch {
    // Hand back the last difference: the caller's deep-equal assertion then shows it.
    return last ?? { cache: versions(informer.list()), listed: {} };
  }
}
