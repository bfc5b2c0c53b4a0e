// A TCP proxy on 127.0.0.1 in front of the API server, for network faults the bed cannot make:
// connections cut (RST), new connections refused, and connections left open that carry no bytes
// (a half-open peer, the case an informer's inactivity watchdog exists for). TLS passes through
// untouched: the API server's certificate names 127.0.0.1, so clients still verify it.
import { createServer, type AddressInfo, type Server, type Socket, connect } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

interface Pair {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
}

export class TcpProxy {
  readonly #targetHost: string;
  readonly #targetPort: number;
  readonly #pairs = new Set<Pair>();
  #server: Server | undefined;
  #refusing = false;
  #muting = false;

  /** Connections forwarded / reset at once since start. */
  accepted = 0;
  refused = 0;

  constructor(target: { host: string; port: number }) {
    this.#targetHost = target.host;
    this.#targetPort = target.port;
  }

  /** Listens on a free port of 127.0.0.1; returns it. */
  async start(): Promise<number> {
    const server = createServer((client) => this.#onConnection(client));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return this.port;
  }

  get port(): number {
    return (this.#server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Open connections (stalled ones included). */
  get open(): number {
    return this.#pairs.size;
  }

  /** New connections are reset as soon as they are accepted. */
  refuse(): void {
    this.#refusing = true;
  }

  /**
   * New connections complete their TLS handshake, then get no answer: the server's bytes after the
   * client's second flight (its Finished, then the request) are dropped. The request is sent and
   * waits for a response that never comes, as on a half-open connection. Counted in `muted`.
   */
  mute(): void {
    this.#muting = true;
  }

  /** Connections that got through their handshake and then went unanswered, by mute(). */
  muted = 0;

  /** New connections are forwarded again (after refuse() or mute()). */
  allow(): void {
    this.#refusing = false;
    this.#muting = false;
  }

  /** Resets every open connection (the client sees ECONNRESET). */
  cutAll(): void {
    for (const pair of [...this.#pairs]) this.#reset(pair);
  }

  /**
   * Stops moving bytes on every open connection, both ways, and keeps it open: to the client the
   * server has gone silent. New connections are still forwarded (unless refused).
   */
  stallAll(): void {
    for (const pair of this.#pairs) {
      if (pair.stalled) continue;
      pair.stalled = true;
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      pair.client.pause();
      pair.upstream.pause();
    }
  }

  /** Moves the bytes held back by stallAll() and carries on. */
  resumeAll(): void {
    for (const pair of this.#pairs) {
      if (!pair.stalled) continue;
      pair.stalled = false;
      pair.client.pipe(pair.upstream);
      pair.upstream.pipe(pair.client);
    }
  }

  async close(): Promise<void> {
    this.cutAll();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A copy of `kc` whose current cluster's server is this proxy (same CA, same credentials). */
  kubeConfig(kc: KubeConfig): KubeConfig {
    const current = kc.getCurrentCluster();
    if (!current) throw new Error('kubeconfig has no current cluster');
    const proxied = new KubeConfig();
    proxied.loadFromOptions({
      clusters: kc.clusters.map((c) =>
        c.name === current.name ? { ...c, server: `https://127.0.0.1:${this.port}` } : c,
      ),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    return proxied;
  }

  /** kubeConfig(kc) written to a file of its own, for a child process's --kubeconfig. */
  kubeconfigFile(kc: KubeConfig): string {
    const file = join(mkdtempSync(join(tmpdir(), 'evacuator-proxy-')), 'kubeconfig');
    writeFileSync(file, this.kubeConfig(kc).exportConfig());
    return file;
  }

  #onConnection(client: Socket): void {
    client.on('error', () => undefined);
    if (this.#refusing) {
      this.refused++;
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = connect(this.#targetPort, this.#targetHost);
    const pair: Pair = { client, upstream, stalled: false };
    this.#pairs.add(pair);
    upstream.on('error', () => undefined);
    // A side closing on its own: the other gets the rest of the bytes and an orderly end.
    client.on('close', () => {
      this.#pairs.delete(pair);
      upstream.destroy();
    });
    upstream.on('close', () => {
      this.#pairs.delete(pair);
      client.end();
    });
    client.pipe(upstream);
    if (!this.#muting) {
      upstream.pipe(client);
      return;
    }
    let clientFlights = 0;
    let counted = false;
    client.on('data', () => clientFlights++);
    upstream.on('data', (chunk: Buffer) => {
      if (clientFlights < 2) {
        client.write(chunk);
      } else if (!counted) {
        counted = true;
        this.muted++;
      }
    });
  }

  #reset(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    pair.upstream.destroy();
  }
}
