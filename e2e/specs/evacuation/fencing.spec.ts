// The other two ways a failed node counts as fenced (standalone.spec.ts covers the out-of-service taint
// and the unfenced wait): the admin's evacuator.dev/fenced=true annotation (Nova's force-down), and the
// deletion of the Node object, after which nothing can be left on it to clean.
import { expect } from 'chai';
import { ANNOTATION_FENCED, ConditionType, Phase, Reason } from '../../../src/api/v1alpha1/constants.ts';
import { consistently, createNamespace, deleteNamespace, eventually, objects } from '../../support/kube.ts';
import { condition, createEvacuation, readEvacuation, waitForPhase } from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { launcherPods, readVmi, vmiManifest, waitForRunningVmi } from '../../support/kubevirt.ts';
import { annotateFenced, deleteNode, failNodeAndWaitNotReady, restoreNode } from '../../support/nodes.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';

describe('InstanceEvacuation of a standalone VMI from a fenced node', function () {
  this.timeout(300_000);
  let operator: OperatorProcess;
  let namespace: string;
  const touched = new Set<string>();

  /** A Running standalone VMI; returns its node (failed at once) and UID. */
  async function vmiOnFailedNode(name: string): Promise<{ source: string; uid: string }> {
    await objects.create(vmiManifest(namespace, name));
    const vmi = await waitForRunningVmi(namespace, name);
    const source = vmi.status!.nodeName!;
    touched.add(source);
    await failNodeAndWaitNotReady(source);
    return { source, uid: vmi.metadata!.uid! };
  }

  before(async function () {
    operator = await startOperator('e2e-fencing');
    namespace = await createNamespace('e2e-evac-fencing');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(operator.tail(60));
  });

  after(async function () {
    operator?.kill('SIGKILL');
    for (const node of touched) await restoreNode(node);
    if (namespace) await deleteNamespace(namespace);
  });

  context(`when an admin annotates the failed node ${ANNOTATION_FENCED}=true`, function () {
    let source: string;
    let originalUid: string;

    before(async function () {
      ({ source, uid: originalUid } = await vmiOnFailedNode('web'));
      await annotateFenced(source);
    });

    after(async function () {
      if (source) await restoreNode(source);
    });

    it('should rebuild it on another node, reporting FencedByAnnotation', async function () {
      await createEvacuation(namespace, 'web-evac', { vmiName: 'web' });
      const evacuation = await waitForPhase(namespace, 'web-evac', Phase.Rebuilt);
      expect(condition(evacuation, ConditionType.SourceFenced)).to.include({
        status: 'True',
        reason: Reason.FencedByAnnotation,
      });
      const vmi = (await readVmi(namespace, 'web'))!;
      expect(vmi.metadata?.uid).to.not.equal(originalUid);
      expect(vmi.status?.phase).to.equal('Running');
      expect(vmi.status?.nodeName).to.not.equal(source);
      expect(evacuation.status).to.include({ sourceNode: source, newUID: vmi.metadata?.uid });
      expect(await launcherPods(namespace, originalUid)).to.have.lengthOf(0);
    });

    it('should stay Rebuilt, awaiting the source node, while that node is down', async function () {
      await consistently(
        'the evacuation to stay Rebuilt with SourceCleaned=False AwaitingSourceNode',
        async () => {
          const evacuation = await readEvacuation(namespace, 'web-evac');
          const cleaned = condition(evacuation, ConditionType.SourceCleaned);
          return (
            evacuation?.status?.phase === Phase.Rebuilt &&
            cleaned?.status === 'False' &&
            cleaned.reason === Reason.AwaitingSourceNode
          );
        },
        5_000,
      );
    });
  });

  context('when the failed node’s Node object is deleted', function () {
    let source: string;
    let originalUid: string;

    before(async function () {
      ({ source, uid: originalUid } = await vmiOnFailedNode('api'));
    });

    after(async function () {
      if (source) await restoreNode(source);
    });

    it('should rebuild it on another node, reporting NodeDeleted', async function () {
      await createEvacuation(namespace, 'api-evac', { vmiName: 'api' });
      await waitForPhase(namespace, 'api-evac', Phase.Fencing);
      await deleteNode(source);
      const evacuation = await eventually('the evacuation to report Rebuilt=True', async () => {
        const e = await readEvacuation(namespace, 'api-evac');
        return condition(e, ConditionType.Rebuilt)?.status === 'True' ? e : undefined;
      });
      expect(condition(evacuation, ConditionType.SourceFenced)).to.include({
        status: 'True',
        reason: Reason.NodeDeleted,
      });
      expect(condition(evacuation, ConditionType.Rebuilt)).to.include({ reason: Reason.RebuiltRunning });
      const vmi = (await readVmi(namespace, 'api'))!;
      expect(vmi.metadata?.uid).to.not.equal(originalUid);
      expect(vmi.status?.phase).to.equal('Running');
      expect(vmi.status?.nodeName).to.not.equal(source);
      expect(evacuation.status).to.include({ sourceNode: source, newUID: vmi.metadata?.uid });
      expect(await launcherPods(namespace, originalUid)).to.have.lengthOf(0);
    });

    it('should complete without waiting for the node, a deleted node counting as cleaned', async function () {
      const evacuation = await waitForPhase(namespace, 'api-evac', Phase.Completed);
      expect(condition(evacuation, ConditionType.SourceCleaned)).to.include({
        status: 'True',
        reason: Reason.Cleaned,
      });
      expect(condition(evacuation, ConditionType.SourceCleaned)?.message).to.include(`${source} was deleted`);
      expect(Object.keys(evacuation.status?.phaseTimestamps ?? {})).to.include.members([
        Phase.Fencing,
        Phase.Terminating,
        Phase.Rebuilding,
        Phase.Rebuilt,
        Phase.Completed,
      ]);
    });
  });
});
