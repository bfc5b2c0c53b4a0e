// Evacuating a VMI whose node is healthy: refused unless spec.allowLiveSource says so (Nova refuses a
// live source host); with it, the instance is shut down gracefully (no force, no fencing) and rebuilt
// on another node, and the evacuation completes at once since the Ready source has nothing left.
import { expect } from 'chai';
import { EventsV1Api } from '@kubernetes/client-node';
import { ConditionType, EventReason, Phase, Reason } from '../../../src/api/v1alpha1/constants.ts';
import {
  consistently,
  createNamespace,
  deleteNamespace,
  eventually,
  kc,
  objects,
} from '../../support/kube.ts';
import { condition, createEvacuation, readEvacuation, waitForPhase } from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { launcherPods, readVmi, vmiManifest, waitForRunningVmi } from '../../support/kubevirt.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';

describe('InstanceEvacuation of a standalone VMI from a healthy node', function () {
  this.timeout(300_000);
  let operator: OperatorProcess;
  let namespace: string;
  let source: string;
  let originalUid: string;

  /** The actions the operator applied for the evacuation of VMI `app`, in order. */
  const appliedActions = () =>
    operator.logs.filter((l) => l.msg === 'applying' && l.vmi === 'app').map((l) => String(l.action));

  before(async function () {
    operator = await startOperator('e2e-live-source');
    namespace = await createNamespace('e2e-evac-live');
    await objects.create(vmiManifest(namespace, 'app'));
    const vmi = await waitForRunningVmi(namespace, 'app');
    source = vmi.status!.nodeName!;
    originalUid = vmi.metadata!.uid!;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(operator.tail(60));
  });

  after(async function () {
    operator?.kill('SIGKILL');
    if (namespace) await deleteNamespace(namespace);
  });

  context('when spec.allowLiveSource is not set', function () {
    it('should fail with Accepted=False SourceNodeHealthy, touch nothing, and say so in a Warning event', async function () {
      await createEvacuation(namespace, 'app-refused', { vmiName: 'app' });
      const evacuation = await waitForPhase(namespace, 'app-refused', Phase.Failed);
      expect(condition(evacuation, ConditionType.Accepted)).to.include({
        status: 'False',
        reason: Reason.SourceNodeHealthy,
      });
      expect(evacuation.status?.snapshot, 'a refused evacuation persists no snapshot').to.equal(undefined);
      await consistently(
        'the VMI to keep its UID, node and launcher pod, Running',
        async () => {
          const vmi = await readVmi(namespace, 'app');
          return (
            vmi?.metadata?.uid === originalUid &&
            vmi.status?.phase === 'Running' &&
            vmi.status.nodeName === source &&
            (await launcherPods(namespace, originalUid)).length === 1
          );
        },
        5_000,
      );
      expect(appliedActions()).to.deep.equal([]);
      await eventually('a Warning event EvacuationRefused on the evacuation', async () => {
        const events = await kc.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace });
        return events.items.some(
          (e) =>
            e.regarding?.name === 'app-refused' &&
            e.type === 'Warning' &&
            e.reason === EventReason.Refused &&
            e.note?.includes(Reason.SourceNodeHealthy),
        )
          ? true
          : undefined;
      });
    });
  });

  context('when spec.allowLiveSource is set', function () {
    it('should shut the VMI down gracefully, without fencing, and rebuild it on another node', async function () {
      await createEvacuation(namespace, 'app-live', { vmiName: 'app', allowLiveSource: true });
      const evacuation = await waitForPhase(namespace, 'app-live', Phase.Completed);
      expect(condition(evacuation, ConditionType.SourceFenced)).to.include({
        status: 'True',
        reason: Reason.FencingNotRequired,
      });
      expect(condition(evacuation, ConditionType.Rebuilt)).to.include({
        status: 'True',
        reason: Reason.RebuiltRunning,
      });
      const phases = Object.keys(evacuation.status?.phaseTimestamps ?? {});
      expect(phases).to.include.members([Phase.Terminating, Phase.Rebuilding, Phase.Rebuilt]);
      expect(phases, 'a healthy source needs no fencing').to.not.include(Phase.Fencing);
      const actions = appliedActions();
      expect(actions, 'the old VMI deleted through KubeVirt (graceful shutdown)').to.include('DeleteVmi');
      expect(actions, 'no launcher pod force-deleted').to.not.include('DeletePod');

      const vmi = (await readVmi(namespace, 'app'))!;
      expect(vmi.metadata?.uid).to.not.equal(originalUid);
      expect(vmi.status?.phase).to.equal('Running');
      expect(vmi.status?.nodeName).to.not.equal(source);
      expect(vmi.metadata?.labels).to.include({ 'evacuator.dev/original-uid': originalUid });
      expect(JSON.stringify(vmi.spec.affinity), 'the rebuilt VMI may never land on the source').to.include(
        JSON.stringify({ key: 'metadata.name', operator: 'NotIn', values: [source] }),
      );
      expect(evacuation.status).to.include({
        sourceNode: source,
        targetNode: vmi.status?.nodeName,
        newUID: vmi.metadata?.uid,
      });
      expect(await launcherPods(namespace, originalUid)).to.have.lengthOf(0);
    });

    it('should have completed with the Ready source cleaned, leaving the refused evacuation as it was', async function () {
      const evacuation = await readEvacuation(namespace, 'app-live');
      expect(evacuation?.status?.phase).to.equal(Phase.Completed);
      expect(condition(evacuation, ConditionType.SourceCleaned)).to.include({
        status: 'True',
        reason: Reason.Cleaned,
      });
      expect(condition(evacuation, ConditionType.SourceCleaned)?.message).to.include(`${source} rejoined`);
      const refused = await readEvacuation(namespace, 'app-refused');
      expect(refused?.status?.phase).to.equal(Phase.Failed);
      expect(condition(refused, ConditionType.Accepted)?.reason).to.equal(Reason.SourceNodeHealthy);
    });
  });
});
