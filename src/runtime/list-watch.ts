import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { type ResourceDescriptor, resourcePath } from './resource.ts';
import { HttpMethod, kubeRestClient, type RestClient } from './rest.ts';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  signal?: AbortSignal;
}

export interface ListResult {
  items: unknown[];
  resourceVersion: string;
  /** Set when more pages follow. */
  continue?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  /** Server-side timeout: the API server ends the watch cleanly after this long. */
  timeoutSeconds: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  object: unknown;
}

export interface WatchHandle {
  abort(): void;
}

/**
 * The informer's only I/O: list one page and open one watch. Tests inject a fake to drive lists,
 * events, errors, 410s and silent connections by hand.
 */
export interface ListWatchTransport {
  list(resource: ResourceDescriptor, options: ListOptions): Promise<ListResult>;
  /**
   * Opens a watch with `allowWatchBookmarks`. `onDone` is called exactly once: with no argument when
   * the server closed the stream, with an error otherwise (also when opening failed).
   */
  watch(
    resource: ResourceDescriptor,
    options: WatchOptions,
    onEvent: (event: WatchEvent) => void,
    onDone: (err?: unknown) => void,
  ): Promise<WatchHandle>;
}

export interface KubeTransportOptions {
  /**
   * client-node's Watch aborts a stream silent for this long (its default, 30 s, is shorter than the
   * API server's ~60 s bookmark period). Set it above the informer's own inactivity timeout.
   */
  clientInactivityTimeoutMs?: number;
  rest?: RestClient;
}

/** The real transport: raw JSON list through KubeConfig, and client-node's `Watch`. */
export function kubeListWatch(kc: KubeConfig, options: KubeTransportOptions = {}): ListWatchTransport {
  const rest = options.rest ?? kubeRestClient(kc);
  const clientTimeout = options.clientInactivityTimeoutMs ?? 180_000;
  return {
    async list(resource, opts) {
      const list = await rest.request<{
        items?: unknown[];
        metadata?: { resourceVersion?: string; continue?: string };
      }>(HttpMethod.GET, resourcePath(resource, opts.namespace), {
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: opts.limit,
          continue: opts.continue,
        },
        signal: opts.signal,
      });
      return {
        items: list.items ?? [],
        resourceVersion: list.metadata?.resourceVersion ?? '',
        continue: list.metadata?.continue || undefined,
      };
    },
    async watch(resource, opts, onEvent, onDone) {
      const watch = new Watch(kc);
      // requestTimeoutMs is private in client-node 2.0.1; see clientInactivityTimeoutMs above.
      Object.assign(watch, { requestTimeoutMs: clientTimeout });
      const controller = await watch.watch(
        resourcePath(resource, opts.namespace),
        {
          resourceVersion: opts.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: opts.timeoutSeconds,
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
        },
        (type, object) => onEvent({ type: type as WatchEventType, object }),
        (err) => onDone(err ?? undefined),
      );
      return { abort: () => controller.abort() };
    },
  };
}
