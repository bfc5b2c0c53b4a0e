import {
  ApiException,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  type KubeConfig,
  RequestContext,
} from '@kubernetes/client-node';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
}

/** Raw JSON requests to the API server. Objects stay plain JSON (no client-node model classes). */
export interface RestClient {
  request<T = unknown>(method: HttpMethod, path: string, options?: RequestOptions): Promise<T>;
}

/**
 * The API server ends a request that is not a watch after 60 s (--request-timeout); one unanswered
 * for longer is lost, e.g. on a half-open connection, and must not hold a worker (or the lock of the
 * VMI it works on) for ever.
 */
export const REQUEST_TIMEOUT_MS = 65_000;

/**
 * A RestClient on KubeConfig's own auth and TLS (the same calls client-node's Watch makes). Failed
 * calls throw client-node's ApiException, so `.code` holds the HTTP status and `.body` the Status.
 */
export function kubeRestClient(kc: KubeConfig, timeoutMs = REQUEST_TIMEOUT_MS): RestClient {
  const http = new IsomorphicFetchHttpLibrary();
  return {
    async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
      const cluster = kc.getCurrentCluster();
      if (!cluster) throw new Error('the kubeconfig has no current cluster');
      const url = new URL(cluster.server.replace(/\/$/, '') + path);
      for (const [k, v] of Object.entries(options.query ?? {})) {
        if (v !== undefined) url.searchParams.set(k, String(v));
      }
      const ctx = new RequestContext(url.toString(), method);
      // client-go's default. JSON alone is refused (406) by aggregated APIs whose routes declare no
      // Produces, such as KubeVirt's virtualmachines/start (go-restful matches only */* then).
      ctx.setHeaderParam('Accept', 'application/json, */*');
      if (options.body !== undefined) {
        ctx.setHeaderParam('Content-Type', options.contentType ?? 'application/json');
        ctx.setBody(JSON.stringify(options.body));
      }
      const timeout = AbortSignal.timeout(timeoutMs);
      ctx.setSignal(options.signal ? AbortSignal.any([options.signal, timeout]) : timeout);
      await kc.applySecurityAuthentication(ctx);
      const response = await http.send(ctx).toPromise();
      const text = await response.body.text();
      if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        const message =
          (body as { message?: unknown } | undefined)?.message ?? `HTTP ${response.httpStatusCode}`;
        throw new ApiException(
          response.httpStatusCode,
          `${method} ${path}: ${String(message)}`,
          body,
          response.headers,
        );
      }
      return (text ? JSON.parse(text) : undefined) as T;
    },
  };
}

export { HttpMethod };
