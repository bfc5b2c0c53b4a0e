import { expect } from 'chai';
import { z } from 'zod';
import { FakeClock, flush } from './clock.ts';
import { type DeleteInfo, Informer, type InformerOptions } from './informer.ts';
import { createLogger } from './logger.ts';
import type { ResourceDescriptor } from './resource.ts';
import { indexers, type KubeObject } from './store.ts';
import { FakeTransport } from './testing.ts';

const vmis: ResourceDescriptor = {
  group: 'kubevirt.io',
  version: 'v1',
  plural: 'virtualmachineinstances',
  kind: 'VirtualMachineInstance',
  namespaced: true,
};

function obj(name: string, rv: string, labels: Record<string, string> = {}): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: 'ns', resourceVersion: rv, labels },
  };
}

function recorder<T>() {
  const events: string[] = [];
  const handlers = {
    add: (o: T) =>
      events.push(`add ${(o as KubeObject).metadata?.name}@${(o as KubeObject).metadata?.resourceVersion}`),
    update: (a: T, b: T) =>
      events.push(
        `update ${(a as KubeObject).metadata?.name}@${(a as KubeObject).metadata?.resourceVersion}->${(b as KubeObject).metadata?.resourceVersion}`,
      ),
    delete: (o: T, info: DeleteInfo) =>
      events.push(
        `delete ${(o as KubeObject).metadata?.name}${info.finalStateUnknown ? ' (tombstone)' : ''}`,
      ),
  };
  return { events, handlers };
}

function setup(extra: Partial<InformerOptions<KubeObject>> = {}) {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const logs: Record<string, unknown>[] = [];
  const informer = new Informer<KubeObject>({
    resource: vmis,
    transport,
    clock,
    random: () => 0,
    logger: createLogger({ level: 'debug', write: (l) => logs.push(JSON.parse(l)) }),
    ...extra,
  });
  const { events, handlers } = recorder<KubeObject>();
  informer.addEventHandler(handlers);
  return { clock, transport, informer, events, logs };
}

describe('Informer', () => {
  context('when list items carry no apiVersion and kind (as the API server sends them)', () => {
    it('should fill both in from the resource, so cached objects can be written back', async () => {
      const { transport, informer } = setup();
      transport.listResults.push({
        items: [{ metadata: { name: 'a', namespace: 'ns', resourceVersion: '1' } }],
        resourceVersion: '10',
      });
      informer.start();
      await informer.waitForSync();
      expect(informer.getByName('ns', 'a')).to.deep.include({
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachineInstance',
      });
      await informer.stop();
    });
  });

  context('when started', () => {
    it('should list, mark itself synced and watch from the list resourceVersion', async () => {
      const { transport, informer, events } = setup({ namespace: 'ns', labelSelector: 'a=b' });
      transport.listResults.push({ items: [obj('a', '1'), obj('b', '2')], resourceVersion: '10' });
      expect(informer.hasSynced()).to.equal(false);
      const synced = informer.waitForSync();
      informer.start();
      expect(await synced).to.equal(true);
      await flush();
      expect(informer.hasSynced()).to.equal(true);
      expect(events).to.deep.equal(['add a@1', 'add b@2']);
      expect(transport.listCalls[0]).to.include({ namespace: 'ns', labelSelector: 'a=b' });
      expect(transport.lastWatch().options).to.include({
        resourceVersion: '10',
        namespace: 'ns',
        labelSelector: 'a=b',
      });
      await informer.stop();
    });

    it('should ask for a randomized server-side timeout of at least the minimum', async () => {
      const { transport, informer } = setup({ minWatchTimeoutSeconds: 300, random: () => 0.5 });
      transport.listResults.push({ items: [], resourceVersion: '1' });
      informer.start();
      await flush();
      expect(transport.lastWatch().options.timeoutSeconds).to.equal(450);
      await informer.stop();
    });

    it('should follow continue tokens across pages', async () => {
      const { transport, informer, events } = setup({ pageSize: 1 });
      transport.listResults.push({ items: [obj('a', '1')], resourceVersion: '5', continue: 'tok' });
      transport.listResults.push({ items: [obj('b', '2')], resourceVersion: '5' });
      informer.start();
      await informer.waitForSync();
      expect(transport.listCalls.map((c) => [c.limit, c.continue])).to.deep.equal([
        [1, undefined],
        [1, 'tok'],
      ]);
      expect(events).to.deep.equal(['add a@1', 'add b@2']);
      await informer.stop();
    });

    it('should hand out deep-frozen objects', async () => {
      const { transport, informer } = setup();
      transport.listResults.push({ items: [obj('a', '1', { x: 'y' })], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      const cached = informer.get('ns/a')!;
      expect(() => {
        cached.metadata!.labels!.x = 'changed';
      }).to.throw(TypeError);
      expect(informer.getByName('ns', 'a')).to.equal(cached);
      await informer.stop();
    });

    it('should replay adds to a handler registered after the sync', async () => {
      const { transport, informer } = setup();
      transport.listResults.push({ items: [obj('a', '1')], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      const late = recorder<KubeObject>();
      const remove = informer.addEventHandler(late.handlers);
      expect(late.events).to.deep.equal(['add a@1']);
      remove();
      await flush();
      transport.lastWatch().emit('ADDED', obj('b', '2'));
      expect(late.events).to.deep.equal(['add a@1']);
      await informer.stop();
    });
  });

  context('when the watch delivers events', () => {
    it('should apply adds, updates with the old object, deletes and bookmarks', async () => {
      const { transport, informer, events } = setup();
      transport.listResults.push({ items: [obj('a', '1')], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      const w = transport.lastWatch();
      w.emit('ADDED', obj('b', '2'));
      w.emit('MODIFIED', obj('a', '3'));
      w.emit('DELETED', obj('b', '4'));
      w.emit('BOOKMARK', { metadata: { resourceVersion: '9' } });
      expect(events).to.deep.equal(['add a@1', 'add b@2', 'update a@1->3', 'delete b']);
      expect(informer.list().map((o) => o.metadata?.name)).to.deep.equal(['a']);
      expect(informer.lastSyncResourceVersion()).to.equal('9');
      await informer.stop();
    });

    it('should keep indexes up to date as labels change', async () => {
      const { transport, informer } = setup({ indexers: { node: indexers.byLabel('kubevirt.io/nodeName') } });
      transport.listResults.push({
        items: [
          obj('a', '1', { 'kubevirt.io/nodeName': 'n1' }),
          obj('b', '1', { 'kubevirt.io/nodeName': 'n1' }),
        ],
        resourceVersion: '1',
      });
      informer.start();
      await informer.waitForSync();
      await flush();
      expect(informer.byIndex('node', 'n1').map((o) => o.metadata?.name)).to.deep.equal(['a', 'b']);
      transport.lastWatch().emit('MODIFIED', obj('a', '2', { 'kubevirt.io/nodeName': 'n2' }));
      expect(informer.byIndex('node', 'n1').map((o) => o.metadata?.name)).to.deep.equal(['b']);
      expect(informer.byIndex('node', 'n2').map((o) => o.metadata?.name)).to.deep.equal(['a']);
      transport.lastWatch().emit('DELETED', obj('b', '3', { 'kubevirt.io/nodeName': 'n1' }));
      expect(informer.byIndex('node', 'n1')).to.deep.equal([]);
      await informer.stop();
    });

    it('should survive a handler that throws and still call the others', async () => {
      const { transport, informer, events, logs } = setup();
      informer.addEventHandler({
        add: () => {
          throw new Error('boom');
        },
      });
      transport.listResults.push({ items: [obj('a', '1')], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      transport.lastWatch().emit('ADDED', obj('b', '2'));
      expect(events).to.deep.equal(['add a@1', 'add b@2']);
      expect(logs.filter((l) => l.msg === 'event handler threw')).to.have.length(2);
      await informer.stop();
    });
  });

  context('when the resourceVersion expires', () => {
    it('should relist on a 410 ERROR event and turn vanished objects into tombstones', async () => {
      const { transport, informer, events } = setup();
      transport.listResults.push({
        items: [obj('a', '1'), obj('b', '1'), obj('c', '1')],
        resourceVersion: '1',
      });
      informer.start();
      await informer.waitForSync();
      await flush();
      transport.listResults.push({
        items: [obj('a', '1'), obj('b', '7'), obj('d', '8')],
        resourceVersion: '20',
      });
      transport
        .lastWatch()
        .emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' });
      await flush();
      expect(transport.listCalls).to.have.length(2);
      expect(events.slice(3)).to.deep.equal(['update b@1->7', 'add d@8', 'delete c (tombstone)']);
      expect(transport.watches).to.have.length(2);
      expect(transport.watches[0]!.aborted).to.equal(true);
      expect(transport.lastWatch().options.resourceVersion).to.equal('20');
      await informer.stop();
    });

    it('should relist when opening the watch fails with HTTP 410', async () => {
      const { transport, informer } = setup();
      transport.listResults.push({ items: [], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      transport.listResults.push({ items: [], resourceVersion: '2' });
      transport.lastWatch().close(Object.assign(new Error('Gone'), { statusCode: 410 }));
      await flush();
      expect(transport.listCalls).to.have.length(2);
      expect(transport.lastWatch().options.resourceVersion).to.equal('2');
      await informer.stop();
    });
  });

  context('when the watch fails', () => {
    it('should back off with jitter and re-watch from the last resourceVersion without relisting', async () => {
      const { clock, transport, informer } = setup({ backoffInitialMs: 800, random: () => 0.5 });
      transport.listResults.push({ items: [obj('a', '1')], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      transport.lastWatch().emit('MODIFIED', obj('a', '5'));
      transport.lastWatch().close(Object.assign(new Error('Internal Server Error'), { statusCode: 500 }));
      await clock.advance(1199);
      expect(transport.watches).to.have.length(1);
      await clock.advance(1);
      expect(transport.watches).to.have.length(2);
      expect(transport.lastWatch().options.resourceVersion).to.equal('5');
      expect(transport.listCalls).to.have.length(1);
      await informer.stop();
    });

    it('should treat a non-410 ERROR event as a failure and retry', async () => {
      const { clock, transport, informer, logs } = setup();
      transport.listResults.push({ items: [], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      transport.lastWatch().emit('ERROR', { kind: 'Status', code: 500, message: 'etcd down' });
      await clock.advance(800);
      expect(transport.watches).to.have.length(2);
      expect(logs.some((l) => l.msg === 'watch failed, retrying')).to.equal(true);
      await informer.stop();
    });

    it('should re-watch at once after a clean server-side close that delivered events', async () => {
      const { transport, informer } = setup();
      transport.listResults.push({ items: [], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      transport.lastWatch().emit('BOOKMARK', { metadata: { resourceVersion: '3' } });
      transport.lastWatch().close();
      await flush();
      expect(transport.watches).to.have.length(2);
      expect(transport.lastWatch().options.resourceVersion).to.equal('3');
      await informer.stop();
    });

    it('should back off when a watch closes at once without any event', async () => {
      const { clock, transport, informer } = setup();
      transport.listResults.push({ items: [], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      transport.lastWatch().close();
      await flush();
      expect(transport.watches).to.have.length(1);
      await clock.advance(800);
      expect(transport.watches).to.have.length(2);
      await informer.stop();
    });
  });

  context('when the watch goes silent', () => {
    it('should abort it and relist after the inactivity timeout, but not while events arrive', async () => {
      const { clock, transport, informer, logs } = setup({ inactivityTimeoutMs: 10_000 });
      transport.listResults.push({ items: [obj('a', '1')], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      await clock.advance(9_000);
      transport.lastWatch().emit('BOOKMARK', { metadata: { resourceVersion: '2' } });
      await clock.advance(9_000);
      expect(transport.listCalls).to.have.length(1);
      transport.listResults.push({ items: [], resourceVersion: '30' });
      await clock.advance(1_000);
      expect(transport.watches[0]!.aborted).to.equal(true);
      expect(transport.listCalls).to.have.length(2);
      expect(informer.list()).to.deep.equal([]);
      expect(logs.some((l) => l.msg === 'watch silent for too long, relisting')).to.equal(true);
      await informer.stop();
    });
  });

  context('when the list fails', () => {
    it('should stay unsynced and retry with doubling backoff until a list succeeds', async () => {
      const { clock, transport, informer } = setup({ backoffInitialMs: 100, backoffMaxMs: 250 });
      transport.listResults.push(new Error('connection refused'), new Error('again'), new Error('and again'));
      informer.start();
      await flush();
      expect(transport.listCalls).to.have.length(1);
      await clock.advance(100);
      expect(transport.listCalls).to.have.length(2);
      await clock.advance(199);
      expect(transport.listCalls).to.have.length(2);
      await clock.advance(1);
      expect(transport.listCalls).to.have.length(3);
      expect(informer.hasSynced()).to.equal(false);
      transport.listResults.push({ items: [obj('a', '1')], resourceVersion: '1' });
      await clock.advance(250);
      expect(informer.hasSynced()).to.equal(true);
      await informer.stop();
    });
  });

  context('with a schema', () => {
    const schema = z.looseObject({
      metadata: z.looseObject({ name: z.string(), namespace: z.string(), resourceVersion: z.string() }),
      spec: z.object({ replicas: z.number() }),
    });

    it('should skip and log objects that fail to parse, keeping the last good version', async () => {
      const clock = new FakeClock();
      const transport = new FakeTransport();
      const logs: Record<string, unknown>[] = [];
      const informer = new Informer({
        resource: vmis,
        transport,
        clock,
        schema,
        logger: createLogger({ write: (l) => logs.push(JSON.parse(l)) }),
      });
      transport.listResults.push({
        items: [
          {
            metadata: { name: 'good', namespace: 'ns', resourceVersion: '1' },
            spec: { replicas: 1 },
            extra: true,
          },
          { metadata: { name: 'bad', namespace: 'ns', resourceVersion: '1' }, spec: { replicas: 'x' } },
        ],
        resourceVersion: '1',
      });
      informer.start();
      await informer.waitForSync();
      await flush();
      expect(informer.list().map((o) => o.metadata.name)).to.deep.equal(['good']);
      expect(informer.get('ns/good')).to.have.property('extra', true);
      transport
        .lastWatch()
        .emit('MODIFIED', { metadata: { name: 'good', namespace: 'ns', resourceVersion: '2' } });
      expect(informer.get('ns/good')!.metadata.resourceVersion).to.equal('1');
      expect(informer.lastSyncResourceVersion()).to.equal('2');
      expect(
        logs.filter((l) => l.msg === 'object failed to parse, skipped').map((l) => l.object),
      ).to.deep.equal(['ns/bad', 'ns/good']);
      const deleted: string[] = [];
      informer.addEventHandler({
        delete: (o) => deleted.push(`${o.metadata.name}@${o.metadata.resourceVersion}`),
      });
      // Deleted in a state that does not parse: gone all the same, reported as the last good version.
      transport
        .lastWatch()
        .emit('DELETED', { metadata: { name: 'good', namespace: 'ns', resourceVersion: '3' } });
      expect(informer.get('ns/good')).to.equal(undefined);
      expect(deleted).to.deep.equal(['good@1']);
      await informer.stop();
    });
  });

  context('with a resync period', () => {
    it('should call update(obj, obj) for every cached object each period', async () => {
      const { clock, transport, informer, events } = setup({
        resyncPeriodMs: 60_000,
        inactivityTimeoutMs: 1e9,
      });
      transport.listResults.push({ items: [obj('a', '1')], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await clock.advance(60_000);
      expect(events).to.deep.equal(['add a@1', 'update a@1->1']);
      await clock.advance(60_000);
      expect(events).to.have.length(3);
      await informer.stop();
    });
  });

  context('when stopped', () => {
    it('should abort the watch, stop retrying and resolve pending sync waits with false', async () => {
      const { clock, transport, informer } = setup();
      transport.listResults.push(new Error('down'));
      const synced = informer.waitForSync();
      informer.start();
      await flush();
      await informer.stop();
      expect(await synced).to.equal(false);
      await clock.advance(60_000);
      expect(transport.listCalls).to.have.length(1);
      expect(clock.pendingTimers()).to.equal(0);
    });

    it('should abort an open watch', async () => {
      const { transport, informer } = setup();
      transport.listResults.push({ items: [], resourceVersion: '1' });
      informer.start();
      await informer.waitForSync();
      await flush();
      await informer.stop();
      expect(transport.lastWatch().aborted).to.equal(true);
    });
  });
});
