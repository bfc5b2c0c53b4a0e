import { expect } from 'chai';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { HttpMethod, kubeRestClient } from './rest.ts';

/**
 * go-restful's Route.matchesAccept for a route that declares no Produces, like KubeVirt's
 * subresources (virtualmachines/start, stop, restart): only an Accept with a wildcard matches.
 */
function goRestfulAccepts(accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return true;
  return accept.split(',').some((t) => t.split(';')[0]!.trim() === '*/*');
}

describe('kubeRestClient', () => {
  let server: Server | undefined;
  const seen: IncomingMessage[] = [];
  afterEach(async () => {
    seen.length = 0;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  async function client(timeoutMs?: number) {
    server = createServer((req, res) => {
      seen.push(req);
      if (req.url?.startsWith('/hang')) return; // never answers
      if (!goRestfulAccepts(req.headers.accept)) {
        res
          .writeHead(406, { 'content-type': 'text/plain' })
          .end('406: Not Acceptable\n\nAvailable representations: ');
        return;
      }
      res.writeHead(202).end();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    return kubeRestClient(kc, timeoutMs);
  }

  it('should be accepted by an aggregated API route that declares no Produces (KubeVirt start)', async () => {
    const rest = await client();
    await rest.request(
      HttpMethod.PUT,
      '/apis/subresources.kubevirt.io/v1/namespaces/n/virtualmachines/v/start',
      {
        body: {},
      },
    );
    expect(seen).to.have.lengthOf(1);
    expect(seen[0]!.headers.accept).to.match(/^application\/json\b/);
  });

  // Without the timeout this request would hang until mocha's own timeout fails the test.
  it('should give up on a request left unanswered past its timeout', async () => {
    const rest = await client(100);
    const error = await rest.request(HttpMethod.GET, '/hang').then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error, 'rejected').to.be.instanceOf(Error);
    server?.closeAllConnections();
  });
});
