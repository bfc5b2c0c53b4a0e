// The runtime's informer against the bed's real API server: it sees adds, updates and deletes, and
// keeps a cache equal to the server's state through cut connections, a silent (half-open) watch and
// an API server restart.
import { expect } from 'chai';
import { Informer } from '../../../src/runtime/informer.ts';
import { kubeListWatch } from '../../../src/runtime/list-watch.ts';
import { coreResources, type ResourceDescriptor } from '../../../src/runtime/resource.ts';
import type { KubeObject } from '../../../src/runtime/store.ts';
import { cacheMatchesList, InformerEvents, memoryLogger, versions } from '../../support/informer-events.ts';
import {
  core,
  createNamespace,
  deleteNamespace,
  eventually,
  kc,
  testCluster,
  uniqueName,
} from '../../support/kube.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

const configMaps: ResourceDescriptor = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};

/** A watch silent this long is abandoned; short so the stalled-watch case runs in seconds. */
const INACTIVITY_MS = 4_000;

interface Harness {
  informer: Informer<KubeObject>;
  events: InformerEvents;
  logs: Record<string, unknown>[];
}

function startInformer(
  resource: ResourceDescriptor,
  options: { kubeConfig?: typeof kc; namespace?: string; inactivityTimeoutMs?: number } = {},
): Harness {
  const { logger, lines } = memoryLogger();
  const informer = new Informer<KubeObject>({
    resource,
    transport: kubeListWatch(options.kubeConfig ?? kc),
    namespace: options.namespace,
    inactivityTimeoutMs: options.inactivityTimeoutMs,
    logger,
  });
  const events = new InformerEvents();
  informer.addEventHandler(events.handlers());
  informer.start();
  return { informer, events, logs: lines };
}

async function createConfigMaps(namespace: string, names: string[]): Promise<void> {
  for (const name of names) {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { v: '0' } } });
  }
}

async function listConfigMaps(namespace: string): Promise<KubeObject[]> {
  return (await core.listNamespacedConfigMap({ namespace })).items;
}

function patchData(namespace: string, name: string, v: string) {
  return core.patchNamespacedConfigMap({
    namespace,
    name,
    body: [{ op: 'replace', path: '/data/v', value: v }],
  });
}

describe('Informer', function () {
  this.timeout(120_000);
  let harness: Harness | undefined;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && harness) {
      console.log(`--- events seen ---\n${harness.events.summary()}`);
      console.log(`--- informer log ---\n${harness.logs.map((l) => JSON.stringify(l)).join('\n')}`);
    }
    await harness?.informer.stop();
    harness = undefined;
  });

  context('when a Node is created, labelled and deleted', function () {
    const name = uniqueName('e2e-informer-node');

    after(async function () {
      await core.deleteNode({ name }).catch(() => undefined);
    });

    it('should deliver the add, the update with old and new object, and the delete', async function () {
      harness = startInformer(coreResources.nodes);
      expect(await harness.informer.waitForSync()).to.equal(true);
      expect(harness.informer.list().map((n) => n.metadata?.name)).to.include('bed-node-1');

      const created = await core.createNode({ body: { metadata: { name } } });
      const added = await harness.events.waitFor('add', name);
      expect(added.obj.metadata?.uid).to.equal(created.metadata?.uid);

      const since = harness.events.seen.length;
      await core.patchNode({
        name,
        body: [{ op: 'add', path: '/metadata/labels', value: { 'evacuator.dev/e2e': 'labelled' } }],
      });
      const updated = await harness.events.waitFor('update', name, {
        since,
        where: (e) => e.obj.metadata?.labels?.['evacuator.dev/e2e'] === 'labelled',
      });
      expect(updated.old.metadata?.labels?.['evacuator.dev/e2e']).to.equal(undefined);
      expect(updated.old.metadata?.resourceVersion).to.not.equal(updated.obj.metadata?.resourceVersion);
      expect(Object.isFrozen(updated.obj)).to.equal(true);

      await core.deleteNode({ name });
      const deleted = await harness.events.waitFor('delete', name);
      expect(deleted.info.finalStateUnknown).to.equal(false);
      expect(harness.informer.getByName(undefined, name)).to.equal(undefined);
    });
  });

  describe('through a proxy that breaks its connections', function () {
    let namespace: string;
    let proxy: TcpProxy;

    beforeEach(async function () {
      namespace = await createNamespace('e2e-informer');
      const server = new URL(kc.getCurrentCluster()!.server);
      proxy = new TcpProxy({ host: server.hostname, port: Number(server.port) });
      await proxy.start();
    });

    afterEach(async function () {
      await harness?.informer.stop();
      await proxy.close();
      await deleteNamespace(namespace);
    });

    context('when connections are cut and refused while objects change', function () {
      it('should reconnect, deliver the delete, update and add it missed, and equal a fresh list', async function () {
        const names = ['cm-a', 'cm-b', 'cm-c', 'cm-d', 'cm-e'];
        await createConfigMaps(namespace, names);
        harness = startInformer(configMaps, { kubeConfig: proxy.kubeConfig(kc), namespace });
        expect(await harness.informer.waitForSync()).to.equal(true);
        for (const n of names) await harness.events.waitFor('add', n);
        await watchIsLive(harness, namespace);

        proxy.refuse();
        proxy.cutAll();
        const since = harness.events.seen.length;
        await core.deleteNamespacedConfigMap({ namespace, name: 'cm-a' });
        await patchData(namespace, 'cm-b', '1');
        await createConfigMaps(namespace, ['cm-new']);
        // The outage must be real: the informer tried to come back and was turned away.
        await eventually('the informer to try to reconnect during the outage', () =>
          proxy.refused > 0 ? true : undefined,
        );
        expect(harness.informer.getByName(namespace, 'cm-a')).to.not.equal(undefined);
        proxy.allow();

        const deleted = await harness.events.waitFor('delete', 'cm-a', { since });
        await harness.events.waitFor('update', 'cm-b', { since, where: (e) => dataV(e.obj) === '1' });
        await harness.events.waitFor('add', 'cm-new', { since });
        console.log(
          `      delete after the outage delivered ${deleted.info.finalStateUnknown ? 'from a relist (final state unknown)' : 'by the resumed watch'}`,
        );
        const { cache, listed } = await cacheMatchesList(harness.informer, () => listConfigMaps(namespace));
        expect(cache).to.deep.equal(listed);
        expect(cache).to.not.have.property('cm-a');
      });
    });

    context('when its watch stalls with the connection left open', function () {
      it('should give up on it within its inactivity timeout, relist, and deliver the missed delete as final-state-unknown', async function () {
        await createConfigMaps(namespace, ['cm-a', 'cm-b', 'cm-c']);
        harness = startInformer(configMaps, {
          kubeConfig: proxy.kubeConfig(kc),
          namespace,
          inactivityTimeoutMs: INACTIVITY_MS,
        });
        expect(await harness.informer.waitForSync()).to.equal(true);
        for (const n of ['cm-a', 'cm-b', 'cm-c']) await harness.events.waitFor('add', n);
        await watchIsLive(harness, namespace);

        // Every open connection goes silent for good; only new connections carry bytes.
        proxy.stallAll();
        const stalledAt = Date.now();
        const since = harness.events.seen.length;
        await core.deleteNamespacedConfigMap({ namespace, name: 'cm-a' });

        const deleted = await harness.events.waitFor('delete', 'cm-a', {
          since,
          timeoutMs: INACTIVITY_MS + 15_000,
        });
        const noticedMs = deleted.at - stalledAt;
        console.log(`      stalled watch replaced and the delete delivered after ${noticedMs} ms`);
        expect(deleted.info.finalStateUnknown, 'delete inferred by a relist').to.equal(true);
        expect(noticedMs).to.be.at.least(INACTIVITY_MS - 100);
        expect(harness.logs.some((l) => l.msg === 'watch silent for too long, relisting')).to.equal(true);

        // The new watch is live: a change made now arrives without another timeout.
        const after = harness.events.seen.length;
        const changedAt = Date.now();
        await createConfigMaps(namespace, ['cm-after']);
        const added = await harness.events.waitFor('add', 'cm-after', {
          since: after,
          timeoutMs: INACTIVITY_MS - 500,
        });
        expect(added.at - changedAt).to.be.below(INACTIVITY_MS);
        const { cache, listed } = await cacheMatchesList(harness.informer, () => listConfigMaps(namespace));
        expect(cache).to.deep.equal(listed);
      });
    });
    context('when it is cut off while an object is deleted and the API server restarts', function () {
      it('should get 410 Gone for its old resourceVersion, relist, deliver the delete as final-state-unknown and equal a fresh list', async function () {
        await createConfigMaps(namespace, ['cm-a', 'cm-b']);
        harness = startInformer(configMaps, { kubeConfig: proxy.kubeConfig(kc), namespace });
        expect(await harness.informer.waitForSync()).to.equal(true);
        await watchIsLive(harness, namespace);

        proxy.refuse();
        proxy.cutAll();
        const since = harness.events.seen.length;
        await core.deleteNamespacedConfigMap({ namespace, name: 'cm-a' });
        // The new API server's watch cache starts after the delete: the old resourceVersion is gone.
        await testCluster.faults.restartApiServer();
        await eventually('the restarted API server to list', () => listConfigMaps(namespace));
        expect(harness.informer.getByName(namespace, 'cm-a')).to.not.equal(undefined);
        proxy.allow();

        const deleted = await harness.events.waitFor('delete', 'cm-a', { since, timeoutMs: 60_000 });
        expect(deleted.info.finalStateUnknown, 'delete inferred by a relist').to.equal(true);
        expect(harness.logs.some((l) => String(l.msg).includes('410 Gone'))).to.equal(true);
        const { cache, listed } = await cacheMatchesList(harness.informer, () => listConfigMaps(namespace));
        expect(cache).to.deep.equal(listed);
      });
    });
  });

  context('when the API server restarts', function () {
    let namespace: string;

    before(async function () {
      namespace = await createNamespace('e2e-informer-restart');
    });

    after(async function () {
      await deleteNamespace(namespace);
    });

    it('should recover, see changes made after the restart and equal a fresh list', async function () {
      await createConfigMaps(namespace, ['cm-a', 'cm-b', 'cm-c']);
      harness = startInformer(configMaps, { namespace });
      expect(await harness.informer.waitForSync()).to.equal(true);
      for (const n of ['cm-a', 'cm-b', 'cm-c']) await harness.events.waitFor('add', n);
      const before = versions(harness.informer.list());

      await testCluster.faults.restartApiServer();
      const since = harness.events.seen.length;
      await core.deleteNamespacedConfigMap({ namespace, name: 'cm-a' });
      await patchData(namespace, 'cm-b', '1');
      await createConfigMaps(namespace, ['cm-new']);

      await harness.events.waitFor('delete', 'cm-a', { since, timeoutMs: 60_000 });
      await harness.events.waitFor('update', 'cm-b', { since, where: (e) => dataV(e.obj) === '1' });
      await harness.events.waitFor('add', 'cm-new', { since });
      const { cache, listed } = await cacheMatchesList(harness.informer, () => listConfigMaps(namespace));
      expect(cache).to.deep.equal(listed);
      expect(cache['cm-c']).to.equal(before['cm-c']);
    });
  });
});

/** Resolves once a change made now reaches the informer: its watch is open (on a connection that exists now). */
async function watchIsLive(harness: Harness, namespace: string): Promise<void> {
  const name = uniqueName('canary');
  const since = harness.events.seen.length;
  await createConfigMaps(namespace, [name]);
  await harness.events.waitFor('add', name, { since });
}

function dataV(obj: KubeObject): string | undefined {
  return (obj as { data?: Record<string, string> }).data?.v;
}
