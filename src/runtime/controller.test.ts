import { expect } from 'chai';
import { FakeClock, flush } from './clock.ts';
import { Controller, type ReconcileResult, type Reconciler } from './controller.ts';
import { TerminalError } from './errors.ts';
import { Informer } from './informer.ts';
import { createLogger } from './logger.ts';
import { Metrics } from './metrics.ts';
import { ItemExponentialFailureRateLimiter } from './rate-limiter.ts';
import { coreResources } from './resource.ts';
import type { KubeObject } from './store.ts';
import { FakeTransport } from './testing.ts';

function pod(name: string, rv = '1', node = 'n1'): KubeObject & { spec: { nodeName: string } } {
  return { metadata: { name, namespace: 'ns', resourceVersion: rv }, spec: { nodeName: node } };
}

type Step = (key: string) => ReturnType<Reconciler> | ReconcileResult | undefined;

function setup(step: Step = () => undefined, workers = 1) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l)) });
  const informer = new Informer<KubeObject>({ resource: coreResources.pods, transport, clock, logger });
  const metrics = new Metrics({ defaultMetrics: false });
  const calls: string[] = [];
  const reconcileIDs: string[] = [];
  const controller = new Controller({
    name: 'test',
    workers,
    clock,
    logger,
    metrics,
    rateLimiter: new ItemExponentialFailureRateLimiter(5, 1000),
    reconcile: async (key, ctx) => {
      calls.push(key);
      reconcileIDs.push(ctx.reconcileID);
      return step(key);
    },
  });
  return { clock, transport, informer, controller, calls, reconcileIDs, logs, metrics };
}

async function metricValue(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await metrics.registry.getSingleMetric(name)?.get())!;
  const v = m.values.find((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val));
  return v?.value ?? NaN;
}

describe('Controller', () => {
  context('before its informers have synced', () => {
    it('should enqueue keys but start no worker until the sync', async () => {
      const { transport, informer, controller, calls } = setup();
      controller.watch(informer);
      informer.start();
      const started = controller.start();
      await flush();
      expect(transport.listCalls).to.have.length(1);
      controller.enqueue('ns/early');
      await flush();
      expect(calls).to.deep.equal([]);
      expect(controller.queue.len()).to.equal(1);
      await controller.stop();
      expect(await started).to.equal(false);
      await informer.stop();
    });

    it('should start workers once every informer has synced and reconcile listed objects', async () => {
      const { transport, informer, controller, calls, reconcileIDs } = setup();
      controller.watch(informer);
      transport.listResults.push({ items: [pod('a'), pod('b')], resourceVersion: '1' });
      expect(controller.hasSynced()).to.equal(false);
      informer.start();
      expect(await controller.start()).to.equal(true);
      await flush();
      expect(calls).to.deep.equal(['ns/a', 'ns/b']);
      expect(new Set(reconcileIDs).size, 'a reconcile id of its own for each').to.equal(2);
      expect(reconcileIDs.every((id) => typeof id === 'string' && id.length > 0)).to.equal(true);
      await controller.stop();
      await informer.stop();
    });
  });

  context('when objects change', () => {
    it('should map objects to keys, apply the update filter and enqueue deletes', async () => {
      const { transport, informer, controller, calls } = setup();
      controller.watch(informer, (p) => (p as { spec: { nodeName: string } }).spec.nodeName, {
        updateFilter: (o, n) => o.metadata?.resourceVersion !== n.metadata?.resourceVersion,
      });
      transport.listResults.push({ items: [pod('a', '1', 'n1')], resourceVersion: '1' });
      informer.start();
      await controller.start();
      await flush();
      transport.lastWatch().emit('MODIFIED', pod('a', '1', 'n2'));
      await flush();
      transport.lastWatch().emit('MODIFIED', pod('a', '2', 'n3'));
      await flush();
      transport.lastWatch().emit('DELETED', pod('a', '3', 'n4'));
      await flush();
      expect(calls).to.deep.equal(['n1', 'n3', 'n4']);
      await controller.stop();
      await informer.stop();
    });

    it('should log and survive a map function that throws', async () => {
      const { transport, informer, controller, logs } = setup();
      controller.watch(informer, () => {
        throw new Error('bad map');
      });
      transport.listResults.push({ items: [pod('a')], resourceVersion: '1' });
      informer.start();
      await controller.start();
      expect(logs.some((l) => l.msg === 'map function threw')).to.equal(true);
      await controller.stop();
      await informer.stop();
    });
  });

  context('when reconcile returns or throws', () => {
    it('should retry an error with per-key backoff and count it', async () => {
      let failures = 2;
      const { clock, controller, calls, metrics } = setup(() => {
        if (failures-- > 0) throw new Error('transient');
        return undefined;
      });
      await controller.start();
      controller.enqueue('k');
      await flush();
      expect(calls).to.deep.equal(['k']);
      await clock.advance(4);
      expect(calls).to.have.length(1);
      await clock.advance(1);
      expect(calls).to.have.length(2);
      await clock.advance(10);
      expect(calls).to.have.length(3);
      expect(controller.queue.numRequeues('k')).to.equal(0);
      expect(await metricValue(metrics, 'controller_runtime_reconcile_total', { result: 'error' })).to.equal(
        2,
      );
      expect(
        await metricValue(metrics, 'controller_runtime_reconcile_total', { result: 'success' }),
      ).to.equal(1);
      expect(
        await metricValue(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'test' }),
      ).to.equal(2);
      await controller.stop();
    });

    it('should not retry a TerminalError', async () => {
      const { clock, controller, calls, logs, metrics } = setup(() => {
        throw new TerminalError('invalid spec');
      });
      await controller.start();
      controller.enqueue('k');
      await clock.advance(10_000);
      expect(calls).to.deep.equal(['k']);
      expect(
        logs.some((l) => l.msg === 'reconcile failed with a terminal error, not retrying' && l.key === 'k'),
      ).to.equal(true);
      expect(
        await metricValue(metrics, 'controller_runtime_terminal_reconcile_errors_total', {
          controller: 'test',
        }),
      ).to.equal(1);
      await controller.stop();
    });

    it('should requeue after the returned delay and reset the backoff', async () => {
      let n = 0;
      const { clock, controller, calls, metrics } = setup(() => {
        n++;
        if (n === 1) throw new Error('once');
        if (n === 2) return { requeueAfterMs: 1000 };
      });
      await controller.start();
      controller.enqueue('k');
      await clock.advance(5);
      expect(calls).to.have.length(2);
      expect(controller.queue.numRequeues('k')).to.equal(0);
      await clock.advance(999);
      expect(calls).to.have.length(2);
      await clock.advance(1);
      expect(calls).to.have.length(3);
      expect(
        await metricValue(metrics, 'controller_runtime_reconcile_total', { result: 'requeue_after' }),
      ).to.equal(1);
      await controller.stop();
    });

    it('should rate-limit a plain requeue without counting an error', async () => {
      let n = 0;
      const { clock, controller, calls, metrics } = setup(() => (n++ === 0 ? { requeue: true } : undefined));
      await controller.start();
      controller.enqueue('k');
      await clock.advance(5);
      expect(calls).to.have.length(2);
      expect(
        await metricValue(metrics, 'controller_runtime_reconcile_errors_total', { controller: 'test' }),
      ).to.equal(0);
      await controller.stop();
    });

    it('should survive a reconcile that rejects with a non-Error value', async () => {
      const { clock, controller, calls } = setup(() => Promise.reject('a string'));
      await controller.start();
      controller.enqueue('k');
      await clock.advance(5);
      expect(calls).to.have.length(2);
      await controller.stop();
    });
  });

  context('with several workers', () => {
    it('should reconcile different keys concurrently but never one key twice at once', async () => {
      const active = new Set<string>();
      let peak = 0;
      let overlap = false;
      const releases: (() => void)[] = [];
      const { controller } = setup(async (key) => {
        if (active.has(key)) overlap = true;
        active.add(key);
        peak = Math.max(peak, active.size);
        await new Promise<void>((r) => releases.push(r));
        active.delete(key);
      }, 3);
      await controller.start();
      for (const k of ['a', 'b', 'a', 'c', 'd']) controller.enqueue(k);
      await flush();
      expect(peak).to.equal(3);
      controller.enqueue('a');
      while (releases.length) {
        releases.shift()!();
        await flush();
      }
      expect(overlap).to.equal(false);
      await controller.stop();
    });
  });

  context('when stopped', () => {
    it('should wait for the in-flight reconcile and take no further keys', async () => {
      let release!: () => void;
      let finished = false;
      const { controller, calls } = setup(async () => {
        await new Promise<void>((r) => (release = r));
        finished = true;
      });
      await controller.start();
      controller.enqueue('a');
      controller.enqueue('b');
      await flush();
      let stopped = false;
      const stopping = controller.stop().then(() => (stopped = true));
      await flush();
      expect(stopped).to.equal(false);
      release();
      await stopping;
      expect(finished).to.equal(true);
      expect(calls).to.deep.equal(['a']);
    });

    it('should abort the reconcile signal when stopped with abort', async () => {
      let signal: AbortSignal | undefined;
      const clock = new FakeClock();
      const controller = new Controller({
        name: 'abort',
        clock,
        reconcile: async (_key, ctx) => {
          signal = ctx.signal;
          await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r()));
        },
      });
      await controller.start();
      controller.enqueue('a');
      await flush();
      await controller.stop({ abort: true });
      expect(signal?.aborted).to.equal(true);
    });
  });
});
