// The seed's operation end to end: a standalone VMI with a PVC and a Multus network on a node that
// dies is rebuilt elsewhere with its identity, volumes, networks and MACs, once the node is fenced,
// and the evacuation completes when the node rejoins.
import { expect } from 'chai';
import { EventReason } from '../../../src/api/v1alpha1/constants.ts';
import { EventsV1Api } from '@kubernetes/client-node';
import {
  core,
  consistently,
  createNamespace,
  deleteNamespace,
  eventually,
  kc,
  storage,
} from '../../support/kube.ts';
import { condition, createEvacuation, readEvacuation, waitForPhase } from '../../support/evacuation.ts';
import { startOperator, testCluster } from '../../support/evacuator.ts';
import {
  createNetworkAttachmentDefinition,
  createPvc,
  launcherPods,
  readVmi,
  vmiManifest,
  waitForRunningVmi,
} from '../../support/kubevirt.ts';
import { objects } from '../../support/kube.ts';
import {
  addTaint,
  failNodeAndWaitNotReady,
  outOfServiceTaint,
  removeTaint,
  restoreNode,
} from '../../support/nodes.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';

describe('InstanceEvacuation of a standalone VMI from a failed node', function () {
  this.timeout(300_000);
  const mac = '02:00:00:ee:00:01';
  let operator: OperatorProcess;
  let namespace: string;
  let source: string;
  let originalUid: string;
  let originalDefaultMac: string;

  before(async function () {
    operator = await startOperator('e2e-standalone');
    namespace = await createNamespace('e2e-evac-standalone');
    await createPvc(namespace, 'data');
    await createNetworkAttachmentDefinition(namespace, 'bed-net');
    const manifest = vmiManifest(namespace, 'db', {
      pvc: 'data',
      multus: { network: 'bed-net', mac },
      labels: { tier: 'db' },
    });
    manifest.metadata!.annotations = { 'example.com/owner': 'team-a' };
    await objects.create(manifest);
    const vmi = await waitForRunningVmi(namespace, 'db');
    source = vmi.status!.nodeName!;
    originalUid = vmi.metadata!.uid!;
    originalDefaultMac = vmi.status!.interfaces!.find((i) => i.name === 'default')!.mac!;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(operator.tail(60));
  });

  after(async function () {
    operator?.kill('SIGKILL');
    if (source) await restoreNode(source);
    if (namespace) await deleteNamespace(namespace);
  });

  it('should wait in Fencing, destroying nothing, while the failed node is not fenced', async function () {
    await failNodeAndWaitNotReady(source);
    await createEvacuation(namespace, 'db-evac', { vmiName: 'db', reason: 'e2e: node died' });
    const evacuation = await waitForPhase(namespace, 'db-evac', 'Fencing');
    expect(condition(evacuation, 'SourceFenced')).to.include({ status: 'False', reason: 'AwaitingFencing' });
    expect(evacuation.status?.originalUID).to.equal(originalUid);
    expect(
      evacuation.status?.snapshot,
      'the snapshot must be persisted before anything is destroyed',
    ).to.not.equal(undefined);
    await consistently(
      'the old VMI and its launcher pod to stay, and the evacuation to keep waiting',
      async () =>
        (await readVmi(namespace, 'db'))?.metadata?.uid === originalUid &&
        (await launcherPods(namespace, originalUid)).length === 1 &&
        (await readEvacuation(namespace, 'db-evac'))?.status?.phase === 'Fencing',
      10_000,
    );
  });

  it('should rebuild it on another node with its name, labels, volumes, networks and MACs once fenced', async function () {
    await addTaint(source, outOfServiceTaint);
    const evacuation = await waitForPhase(namespace, 'db-evac', 'Rebuilt');
    const vmi = (await readVmi(namespace, 'db'))!;
    expect(vmi.metadata?.uid).to.not.equal(originalUid);
    expect(vmi.status?.phase).to.equal('Running');
    expect(vmi.status?.nodeName).to.not.equal(source);
    expect(vmi.metadata?.labels).to.include({ tier: 'db', 'evacuator.dev/original-uid': originalUid });
    expect(vmi.metadata?.annotations).to.include({ 'example.com/owner': 'team-a' });
    expect(JSON.stringify(vmi.spec.volumes)).to.include('"claimName":"data"');
    expect(JSON.stringify(vmi.spec.networks)).to.include('"networkName":"bed-net"');
    const macs = Object.fromEntries((vmi.status?.interfaces ?? []).map((i) => [i.name, i.mac]));
    expect(macs).to.deep.equal({ default: originalDefaultMac, secondary: mac });
    expect(evacuation.status).to.include({
      newUID: vmi.metadata?.uid,
      targetNode: vmi.status?.nodeName,
      sourceNode: source,
    });
    expect(await launcherPods(namespace, originalUid)).to.have.lengthOf(0);

    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
    await eventually('the volume attached to the new node only', async () => {
      const attachments = (await storage.listVolumeAttachment()).items.filter(
        (a) => a.spec.source.persistentVolumeName === pvc.spec?.volumeName,
      );
      return attachments.length === 1 &&
        attachments[0]!.spec.nodeName === vmi.status?.nodeName &&
        attachments[0]!.status?.attached
        ? true
        : undefined;
    });
  });

  it('should complete when the failed node rejoins, with the source cleaned, events and metrics', async function () {
    await removeTaint(source, outOfServiceTaint.key);
    await testCluster.faults.recoverNode(source);
    const evacuation = await waitForPhase(namespace, 'db-evac', 'Completed', 120_000);
    expect(condition(evacuation, 'SourceCleaned')).to.include({ status: 'True' });
    expect(Object.keys(evacuation.status?.phaseTimestamps ?? {})).to.include.members([
      'Pending',
      'Fencing',
      'Terminating',
      'Rebuilding',
      'Rebuilt',
      'Completed',
    ]);

    const metrics = await operator.scrape();
    expect(
      metrics.value('evacuator_instanceevacuation_results_total', { result: 'Completed' }),
    ).to.be.at.least(1);
    expect(
      metrics.value('evacuator_instanceevacuation_phase_duration_seconds_count', { phase: 'Fencing' }),
    ).to.be.at.least(1);
    expect(metrics.value('evacuator_instanceevacuations', { phase: 'Completed' })).to.be.at.least(1);

    const events = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
    const reasonsAbout = (kind: string, name: string) =>
      events.items
        .filter((e) => e.regarding?.kind === kind && e.regarding.name === name)
        .map((e) => e.reason);
    // Every decision is told on the evacuation and on the VMI it concerns.
    expect(reasonsAbout('VirtualMachineInstance', 'db')).to.include.members([
      EventReason.SourceFenced,
      EventReason.Rebuilt,
    ]);
    const reasons = reasonsAbout('InstanceEvacuation', 'db-evac');
    expect(reasons).to.include.members([
      EventReason.Accepted,
      EventReason.SourceFenced,
      EventReason.Rebuilt,
      EventReason.Completed,
    ]);
  });
});
