import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BindAddress } from './config.ts';
import { type Logger, nopLogger } from './logger.ts';

export interface CheckResult {
  ok: boolean;
  /** Shown in the body, one `name: value` line each (like kube-apiserver's ?verbose). */
  checks?: Record<string, boolean | string>;
}

export interface HttpServerOptions {
  /** null: no metrics endpoint. */
  metricsAddress: BindAddress | null;
  /** null: no probe endpoints. */
  healthAddress: BindAddress | null;
  metrics: () => Promise<{ contentType: string; body: string }>;
  healthz: () => CheckResult;
  readyz: () => CheckResult;
  logger?: Logger;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/**
 * /metrics on the metrics address, /healthz and /readyz on the health-probe address (one server when
 * both addresses are the same), like kubebuilder's manager.
 */
export class HttpServer {
  readonly #o: HttpServerOptions;
  readonly #log: Logger;
  readonly #servers: Server[] = [];

  constructor(options: HttpServerOptions) {
    this.#o = options;
    this.#log = (options.logger ?? nopLogger).child({ logger: 'http' });
  }

  /** Listens; returns the bound addresses (port 0 picks a free one). */
  async start(): Promise<{ metrics?: AddressInfo; health?: AddressInfo }> {
    const { metricsAddress: m, healthAddress: h } = this.#o;
    const routes = { metrics: new Map<string, Handler>(), health: new Map<string, Handler>() };
    routes.metrics.set('/metrics', async (_req, res) => {
      const { contentType, body } = await this.#o.metrics();
      res.writeHead(200, { 'content-type': contentType }).end(body);
    });
    routes.health.set('/healthz', (req, res) => respond(req, res, this.#o.healthz()));
    routes.health.set('/readyz', (req, res) => respond(req, res, this.#o.readyz()));
    const same = m && h && m.port !== 0 && m.port === h.port && m.host === h.host;
    const out: { metrics?: AddressInfo; health?: AddressInfo } = {};
    if (same) {
      const addr = await this.#listen(m, new Map([...routes.metrics, ...routes.health]));
      out.metrics = out.health = addr;
    } else {
      if (m) out.metrics = await this.#listen(m, routes.metrics);
      if (h) out.health = await this.#listen(h, routes.health);
    }
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  async #listen(addr: BindAddress, routes: Map<string, Handler>): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const handler = routes.get(path);
      if (!handler || (req.method !== 'GET' && req.method !== 'HEAD')) {
        res
          .writeHead(handler ? 405 : 404, { 'content-type': 'text/plain' })
          .end(handler ? 'method not allowed\n' : 'not found\n');
        return;
      }
      Promise.resolve()
        .then(() => handler(req, res))
        .catch((err: unknown) => {
          this.#log.error('request failed', { path, err });
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('internal error\n');
        });
    });
    this.#servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    this.#log.info('serving', { address: `${bound.address}:${bound.port}`, paths: [...routes.keys()] });
    return bound;
  }
}

function respond(req: IncomingMessage, res: ServerResponse, result: CheckResult): void {
  const verbose = new URL(req.url ?? '/', 'http://x').searchParams.has('verbose');
  let body = result.ok ? 'ok\n' : 'not ready\n';
  if (verbose || !result.ok) {
    body =
      Object.entries(result.checks ?? {})
        .map(([k, v]) => `[${v === true ? '+' : '-'}]${k} ${v === true ? 'ok' : v === false ? 'failed' : v}`)
        .join('\n') +
      '\n' +
      body;
  }
  res.writeHead(result.ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
}
