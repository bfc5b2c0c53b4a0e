import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { type CheckResult, HttpServer } from './http-server.ts';

async function get(addr: AddressInfo | undefined, path: string, method = 'GET') {
  if (!addr) throw new Error('not bound');
  const res = await fetch(`http://127.0.0.1:${addr.port}${path}`, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

describe('HttpServer', () => {
  let server: HttpServer | undefined;
  afterEach(async () => server?.stop());

  function make(ready: () => CheckResult, opts: { same?: boolean; noMetrics?: boolean } = {}) {
    server = new HttpServer({
      metricsAddress: opts.noMetrics ? null : { host: '127.0.0.1', port: 0 },
      healthAddress: { host: '127.0.0.1', port: 0 },
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4', body: 'up 1\n' }),
      healthz: () => ({ ok: true }),
      readyz: ready,
    });
    return server.start();
  }

  it('should serve /metrics and the probes on separate addresses', async () => {
    const { metrics, health } = await make(() => ({ ok: true }));
    expect(metrics!.port).to.not.equal(health!.port);
    expect(await get(metrics, '/metrics')).to.deep.equal({
      status: 200,
      body: 'up 1\n',
      type: 'text/plain; version=0.0.4',
    });
    expect((await get(health, '/healthz')).status).to.equal(200);
    expect((await get(metrics, '/healthz')).status).to.equal(404);
    expect((await get(health, '/metrics')).status).to.equal(404);
  });

  it('should answer /readyz 503 with the failing checks until ready, then 200', async () => {
    let ready = false;
    const { health } = await make(() => ({ ok: ready, checks: { informers: ready, leader: 'standby' } }));
    const before = await get(health, '/readyz');
    expect(before.status).to.equal(503);
    expect(before.body).to.include('[-]informers failed').and.include('leader standby');
    ready = true;
    expect(await get(health, '/readyz')).to.include({ status: 200, body: 'ok\n' });
    expect((await get(health, '/readyz?verbose')).body).to.include('[+]informers ok');
  });

  it('should not serve metrics when disabled, and reject other methods', async () => {
    const { metrics, health } = await make(() => ({ ok: true }), { noMetrics: true });
    expect(metrics).to.equal(undefined);
    expect((await get(health, '/healthz', 'POST')).status).to.equal(405);
  });

  it('should answer 500 when a handler fails, and keep serving', async () => {
    server = new HttpServer({
      metricsAddress: { host: '127.0.0.1', port: 0 },
      healthAddress: null,
      metrics: async () => {
        throw new Error('registry broken');
      },
      healthz: () => ({ ok: true }),
      readyz: () => ({ ok: true }),
    });
    const { metrics, health } = await server.start();
    expect(health).to.equal(undefined);
    expect((await get(metrics, '/metrics')).status).to.equal(500);
    expect((await get(metrics, '/metrics')).status).to.equal(500);
  });
});
