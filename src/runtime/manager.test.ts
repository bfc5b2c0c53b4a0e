import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { FakeClock, flush } from './clock.ts';
import type { EventSink } from './events.ts';
import type { LeaderElectionRecord } from './leader-election-decision.ts';
import type { LeaseLock } from './leader-election.ts';
import { Manager, type ManagerOptions } from './manager.ts';
import { Metrics } from './metrics.ts';
import { coreResources } from './resource.ts';
import type { RestClient } from './rest.ts';
import { indexers, type KubeObject } from './store.ts';
import { FakeTransport } from './testing.ts';

class MemoryLock implements LeaseLock {
  record: LeaderElectionRecord | null = null;
  rv = 0;
  describe() {
    return 'ns/lease';
  }
  async get() {
    return this.record ? { record: { ...this.record }, resourceVersion: String(this.rv) } : null;
  }
  async create(r: LeaderElectionRecord) {
    this.record = { ...r };
    return String(++this.rv);
  }
  async update(r: LeaderElectionRecord, rv: string) {
    if (rv !== String(this.rv)) throw Object.assign(new Error('conflict'), { code: 409 });
    this.record = { ...r };
    return String(++this.rv);
  }
}

const noRest: RestClient = {
  request: () => Promise.reject(new Error('no API in this test')),
};
const noEvents: EventSink = { create: async () => {}, updateSeries: async () => {} };

function pod(name: string): KubeObject {
  return { metadata: { name, namespace: 'ns', resourceVersion: '1' } };
}

function setup(extra: Partial<ManagerOptions> = {}) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  let lost = 0;
  const manager = new Manager({
    kubeConfig: new KubeConfig(),
    identity: 'me',
    clock,
    transport,
    rest: noRest,
    eventSink: noEvents,
    metrics: new Metrics({ defaultMetrics: false }),
    onLeadershipLost: () => lost++,
    ...extra,
  });
  const calls: string[] = [];
  const signals: AbortSignal[] = [];
  const informer = manager.informer(coreResources.pods);
  const controller = manager.addController({
    name: 'pods',
    reconcile: async (key, ctx) => {
      calls.push(key);
      signals.push(ctx.signal);
    },
  });
  controller.watch(informer);
  return { clock, transport, manager, calls, signals, lostCount: () => lost };
}

describe('Manager', () => {
  context('when informers are requested', () => {
    it('should share one informer per resource and selectors, merging index functions', () => {
      const { manager } = setup();
      const a = manager.informer(coreResources.pods, { indexers: { node: indexers.podNodeName } });
      const b = manager.informer(coreResources.pods, { indexers: { ns: indexers.namespace } });
      const c = manager.informer(coreResources.pods, { labelSelector: 'kubevirt.io=virt-launcher' });
      expect(a).to.equal(b);
      expect(a).to.not.equal(c);
      expect(a.byIndex('node', 'n1')).to.deep.equal([]);
      expect(a.byIndex('ns', 'x')).to.deep.equal([]);
    });
  });

  context('without leader election', () => {
    it('should sync caches, then run controllers, report ready over HTTP, and stop cleanly', async () => {
      const { transport, manager, calls } = setup({ healthAddress: { host: '127.0.0.1', port: 0 } });
      transport.listResults.push({ items: [pod('a')], resourceVersion: '1' });
      expect(manager.readiness().ok).to.equal(false);
      expect(await manager.start()).to.equal(true);
      await flush();
      expect(calls).to.deep.equal(['ns/a']);
      expect(manager.readiness()).to.deep.equal({ ok: true, checks: { informers: true, controllers: true } });
      const res = await fetch(`http://127.0.0.1:${manager.addresses().health!.port}/readyz`);
      expect(res.status).to.equal(200);
      await manager.stop();
      expect(transport.lastWatch().aborted).to.equal(true);
      expect(manager.readiness().ok).to.equal(false);
    });

    it('should refuse new informers and controllers after start', async () => {
      const { transport, manager } = setup();
      transport.listResults.push({ items: [], resourceVersion: '1' });
      await manager.start();
      expect(() => manager.informer(coreResources.nodes)).to.throw(/before the manager starts/);
      expect(() => manager.addController({ name: 'late', reconcile: async () => {} })).to.throw(
        /before the manager starts/,
      );
      await manager.stop();
    });
  });

  context('with leader election', () => {
    it('should be a ready standby while another replica leads, and start controllers once it leads', async () => {
      const lock = new MemoryLock();
      lock.record = {
        holderIdentity: 'other',
        leaseDurationSeconds: 15,
        renewTime: 'x',
        leaseTransitions: 0,
      };
      const { clock, transport, manager, calls } = setup({
        leaderElection: { namespace: 'ns', name: 'lease', lock },
      });
      transport.listResults.push({ items: [pod('a')], resourceVersion: '1' });
      expect(await manager.start()).to.equal(true);
      await flush();
      expect(manager.isLeader()).to.equal(false);
      expect(manager.readiness()).to.deep.equal({
        ok: true,
        checks: { informers: true, controllers: 'standby' },
      });
      expect(calls).to.deep.equal([]);
      await clock.advance(20_000);
      expect(manager.isLeader()).to.equal(true);
      expect(calls).to.deep.equal(['ns/a']);
      await manager.stop();
      expect(lock.record).to.include({ holderIdentity: '', leaseDurationSeconds: 1 });
    });

    it('should abort controllers and call onLeadershipLost at once when the lease is taken', async () => {
      const lock = new MemoryLock();
      const { clock, transport, manager, signals, lostCount } = setup({
        leaderElection: { namespace: 'ns', name: 'lease', lock },
      });
      transport.listResults.push({ items: [pod('a')], resourceVersion: '1' });
      await manager.start();
      await flush();
      expect(manager.isLeader()).to.equal(true);
      lock.record = {
        holderIdentity: 'thief',
        leaseDurationSeconds: 15,
        renewTime: 'y',
        leaseTransitions: 1,
      };
      lock.rv++;
      await clock.advance(2_000);
      expect(lostCount()).to.equal(1);
      expect(signals[0]!.aborted).to.equal(true);
      expect(manager.isLeader()).to.equal(false);
      await manager.stop();
    });
  });

  context('when shutdown takes too long', () => {
    it('should give up after the grace period', async () => {
      const clock = new FakeClock();
      const transport = new FakeTransport();
      const manager = new Manager({
        kubeConfig: new KubeConfig(),
        identity: 'me',
        clock,
        transport,
        rest: noRest,
        eventSink: noEvents,
        metrics: new Metrics({ defaultMetrics: false }),
        gracefulShutdownTimeoutMs: 5_000,
      });
      const c = manager.addController({ name: 'stuck', reconcile: () => new Promise(() => {}) });
      await manager.start();
      c.enqueue('k');
      await flush();
      let done = false;
      const stopping = manager.stop().then(() => (done = true));
      await clock.advance(4_999);
      expect(done).to.equal(false);
      await clock.advance(1);
      await stopping;
      expect(done).to.equal(true);
    });
  });
});
