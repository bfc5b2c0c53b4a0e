// The Manager's endpoints on real traffic: a small controller over ConfigMaps runs in this process
// (with leader election on the bed), and the operator itself runs as a process watching the bed.
import { expect } from 'chai';
import type { Controller } from '../../../src/runtime/controller.ts';
import { Manager } from '../../../src/runtime/manager.ts';
import type { ResourceDescriptor } from '../../../src/runtime/resource.ts';
import { memoryLogger } from '../../support/informer-events.ts';
import { core, createNamespace, deleteNamespace, eventually, kc, testCluster } from '../../support/kube.ts';
import { installCrd } from '../../support/evacuator.ts';
import { readLease } from '../../support/leases.ts';
import { killAllOperators, OperatorProcess } from '../../support/operator-process.ts';
import { scrape, type Scrape } from '../../support/prometheus.ts';

const configMaps: ResourceDescriptor = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};

const CONTROLLER = 'e2e-configmaps';
const LEASE = 'e2e-metrics-leader';
const MiB = 1024 * 1024;

describe('Manager metrics and probes', function () {
  this.timeout(120_000);
  let namespace: string;

  beforeEach(async function () {
    namespace = await createNamespace('e2e-metrics');
  });

  afterEach(async function () {
    await deleteNamespace(namespace);
  });

  context('when a controller reconciles ConfigMaps', function () {
    let manager: Manager;
    let controller: Controller;
    let logs: Record<string, unknown>[];
    let reconciled: string[];

    beforeEach(async function () {
      reconciled = [];
      for (const name of ['cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-flaky']) {
        await core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { v: '0' } } });
      }
      const memory = memoryLogger();
      logs = memory.lines;
      manager = new Manager({
        kubeConfig: kc,
        identity: 'e2e-metrics-manager',
        logger: memory.logger,
        metricsAddress: { host: '127.0.0.1', port: 0 },
        healthAddress: { host: '127.0.0.1', port: 0 },
        leaderElection: { namespace, name: LEASE },
        onLeadershipLost: () => undefined,
      });
      const informer = manager.informer(configMaps, { namespace });
      controller = manager.addController({
        name: CONTROLLER,
        reconcile: async (key) => {
          reconciled.push(key);
          // The first attempt at this one fails: a retry through the rate limiter.
          if (key.endsWith('/cm-flaky') && reconciled.filter((k) => k === key).length === 1) {
            throw new Error('first attempt fails on purpose');
          }
        },
      });
      controller.watch(informer);
    });

    afterEach(async function () {
      if (this.currentTest?.state === 'failed') console.log(logs.map((l) => JSON.stringify(l)).join('\n'));
      await manager.stop();
    });

    it('should answer /healthz and /readyz with 200 once synced and leading', async function () {
      expect(await manager.start()).to.equal(true);
      await eventually('the manager to lead', () => (manager.isLeader() ? true : undefined));
      const health = manager.addresses().health!.port;
      for (const path of ['/healthz', '/readyz']) {
        const response = await eventually(`${path} to answer 200`, async () => {
          const r = await fetch(`http://127.0.0.1:${health}${path}?verbose`);
          const body = await r.text();
          return r.status === 200 ? body : undefined;
        });
        expect(response).to.contain('ok');
      }
      expect((await readLease(namespace, LEASE))?.holder).to.equal('e2e-metrics-manager');
    });

    it('should count reconciles, retries and queue traffic under the controller-runtime names', async function () {
      expect(await manager.start()).to.equal(true);
      const keys = ['cm-1', 'cm-2', 'cm-3', 'cm-4', 'cm-flaky'].map((n) => `${namespace}/${n}`);
      await eventually('every ConfigMap reconciled, cm-flaky twice', () =>
        keys.every((k) => reconciled.includes(k)) &&
        reconciled.filter((k) => k.endsWith('/cm-flaky')).length >= 2
          ? true
          : undefined,
      );
      const url = `http://127.0.0.1:${manager.addresses().metrics!.port}/metrics`;
      const first = await eventually('the queue to drain', async () => {
        const s = await scrape(url);
        return s.value('workqueue_depth', { name: CONTROLLER }) === 0 ? s : undefined;
      });
      const total = (s: Scrape, result: string) =>
        s.value('controller_runtime_reconcile_total', { controller: CONTROLLER, result });
      const attempts = reconciled.length;
      expect(total(first, 'success')).to.equal(attempts - 1);
      expect(total(first, 'error')).to.equal(1);
      expect(first.value('controller_runtime_reconcile_errors_total', { controller: CONTROLLER })).to.equal(
        1,
      );
      expect(
        first.value('controller_runtime_reconcile_time_seconds_count', { controller: CONTROLLER }),
      ).to.equal(attempts);
      const reconcileSeconds = first.value('controller_runtime_reconcile_time_seconds_sum', {
        controller: CONTROLLER,
      });
      expect(reconcileSeconds).to.be.at.least(0).and.below(attempts);
      expect(first.value('workqueue_adds_total', { name: CONTROLLER })).to.be.at.least(keys.length + 1);
      expect(first.value('workqueue_retries_total', { name: CONTROLLER })).to.equal(1);
      for (const histogram of ['workqueue_queue_duration_seconds', 'workqueue_work_duration_seconds']) {
        expect(first.value(`${histogram}_count`, { name: CONTROLLER }), histogram).to.equal(attempts);
        expect(first.value(`${histogram}_bucket`, { name: CONTROLLER, le: '+Inf' })).to.equal(attempts);
      }
      expect(first.value('leader_election_master_status', { name: LEASE })).to.equal(1);
      const rss = first.value('process_resident_memory_bytes');
      expect(rss)
        .to.be.above(10 * MiB)
        .and.below(2048 * MiB);
      expect(first.value('process_cpu_seconds_total')).to.be.above(0);

      // A change is one more reconcile and one more add, seen on the next scrape.
      await core.patchNamespacedConfigMap({
        namespace,
        name: 'cm-2',
        body: [{ op: 'replace', path: '/data/v', value: '1' }],
      });
      const second = await eventually('the update to be reconciled', async () => {
        const s = await scrape(url);
        return total(s, 'success') > total(first, 'success') ? s : undefined;
      });
      expect(second.value('workqueue_adds_total', { name: CONTROLLER })).to.be.above(
        first.value('workqueue_adds_total', { name: CONTROLLER }),
      );
    });
  });

  context('when the operator process runs idle against the bed', function () {
    let operator: OperatorProcess | undefined;

    before(async function () {
      await installCrd();
    });

    afterEach(async function () {
      if (this.currentTest?.state === 'failed' && operator) console.log(operator.tail(60));
      await killAllOperators();
      operator = undefined;
    });

    it('should serve probes, leader, controller, workqueue and process metrics, in a modest RSS', async function () {
      operator = new OperatorProcess({
        identity: 'e2e-idle-operator',
        kubeconfigPath: testCluster.kubeconfigPath,
        leaderElection: { namespace, lease: LEASE },
      });
      await operator.waitForLog('starting controllers', 60_000);
      for (const path of ['/healthz', '/readyz'] as const) {
        const probe = await operator.probe(path);
        expect(probe.status, `${path}: ${probe.body}`).to.equal(200);
      }
      const s = await operator.scrape();
      expect(s.value('leader_election_master_status', { name: LEASE })).to.equal(1);
      const controllers = new Set(
        s.find('controller_runtime_reconcile_total').map((x) => x.labels.controller),
      );
      expect(controllers.size, 'a registered controller').to.be.at.least(1);
      for (const name of [
        'controller_runtime_reconcile_total',
        'controller_runtime_reconcile_time_seconds',
        'workqueue_depth',
        'workqueue_adds_total',
        'workqueue_retries_total',
        'workqueue_queue_duration_seconds',
        'workqueue_work_duration_seconds',
        'leader_election_master_status',
        'process_resident_memory_bytes',
      ]) {
        expect(s.declares(name), name).to.equal(true);
      }

      // Memory of a replica that has been watching the bed for a while (its informers synced).
      const measured = await eventually(
        'the operator to be up for 10 s',
        async () => {
          if (Date.now() - operator!.startedAt < 10_000) return undefined;
          const metrics = await operator!.scrape();
          return { vmRss: operator!.rssBytes(), reported: metrics.value('process_resident_memory_bytes') };
        },
        30_000,
        500,
      );
      console.log(
        `      idle operator RSS: ${(measured.vmRss / MiB).toFixed(1)} MiB (VmRSS), ` +
          `${(measured.reported / MiB).toFixed(1)} MiB (process_resident_memory_bytes)`,
      );
      expect(measured.vmRss)
        .to.be.above(10 * MiB)
        .and.below(512 * MiB);
      expect(Math.abs(measured.reported - measured.vmRss)).to.be.below(64 * MiB);
    });
  });
});
