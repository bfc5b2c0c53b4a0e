// spec.targetNode (Nova's requested host): a valid one gets the rebuilt instance, an invalid one is
// refused before anything is touched. A healthy source with allowLiveSource keeps every node up:
// the target is validated on that path just as after a node failure.
import { expect } from 'chai';
import { ConditionType, Phase, Reason } from '../../../src/api/v1alpha1/constants.ts';
import { consistently, createNamespace, deleteNamespace, objects } from '../../support/kube.ts';
import { condition, createEvacuation, readEvacuation, waitForPhase } from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { launcherPods, readVmi, vmiManifest, waitForRunningVmi } from '../../support/kubevirt.ts';
import { readyNodes, restoreNode, setUnschedulable } from '../../support/nodes.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';

describe('InstanceEvacuation with spec.targetNode', function () {
  this.timeout(300_000);
  let operator: OperatorProcess;
  let namespace: string;
  let source: string;
  let originalUid: string;
  /** Two Ready nodes other than the source. */
  let others: [string, string];

  before(async function () {
    operator = await startOperator('e2e-target-node');
    namespace = await createNamespace('e2e-evac-target');
    await objects.create(vmiManifest(namespace, 'app'));
    const vmi = await waitForRunningVmi(namespace, 'app');
    source = vmi.status!.nodeName!;
    originalUid = vmi.metadata!.uid!;
    const ready = (await readyNodes()).filter((n) => n !== source);
    expect(ready, 'the bed needs two Ready nodes besides the source').to.have.length.of.at.least(2);
    others = [ready[0]!, ready[1]!];
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(operator.tail(60));
  });

  after(async function () {
    operator?.kill('SIGKILL');
    for (const node of others ?? []) await restoreNode(node);
    if (namespace) await deleteNamespace(namespace);
  });

  context('when the target node is not a valid destination', function () {
    const refused: string[] = [];

    async function expectRefused(name: string, targetNode: string, reason: string): Promise<void> {
      refused.push(name);
      await createEvacuation(namespace, name, { vmiName: 'app', allowLiveSource: true, targetNode });
      const evacuation = await waitForPhase(namespace, name, Phase.Failed);
      expect(condition(evacuation, ConditionType.Accepted)).to.include({ status: 'False', reason });
      expect(condition(evacuation, ConditionType.Accepted)?.message).to.include(targetNode);
      expect(evacuation.status?.snapshot, 'a refused evacuation persists no snapshot').to.equal(undefined);
    }

    after(async function () {
      if (others) await setUnschedulable(others[0], false);
    });

    it('should fail with TargetNodeIsSource when it is the source node', async function () {
      await expectRefused('to-source', source, Reason.TargetNodeIsSource);
    });

    it('should fail with TargetNodeNotFound when no such Node exists', async function () {
      await expectRefused('to-nowhere', 'no-such-node', Reason.TargetNodeNotFound);
    });

    it('should fail with TargetNodeUnschedulable when it is cordoned', async function () {
      await setUnschedulable(others[0], true);
      await expectRefused('to-cordoned', others[0], Reason.TargetNodeUnschedulable);
    });

    it('should leave the VMI untouched and the refused evacuations Failed', async function () {
      expect(refused).to.have.lengthOf(3);
      await consistently(
        'the VMI to keep its UID, node and launcher pod, and every refused evacuation to stay Failed',
        async () => {
          const vmi = await readVmi(namespace, 'app');
          const phases = await Promise.all(
            refused.map(async (n) => (await readEvacuation(namespace, n))?.status?.phase),
          );
          return (
            vmi?.metadata?.uid === originalUid &&
            vmi.status?.phase === 'Running' &&
            vmi.status.nodeName === source &&
            (await launcherPods(namespace, originalUid)).length === 1 &&
            phases.every((p) => p === Phase.Failed)
          );
        },
        5_000,
      );
    });
  });

  context('when the target node is Ready, schedulable and not the source', function () {
    it('should rebuild the VMI exactly there', async function () {
      const target = others[1];
      await createEvacuation(namespace, 'to-target', {
        vmiName: 'app',
        allowLiveSource: true,
        targetNode: target,
      });
      const evacuation = await waitForPhase(namespace, 'to-target', Phase.Completed);
      expect(condition(evacuation, ConditionType.Accepted)).to.include({ status: 'True' });
      const vmi = (await readVmi(namespace, 'app'))!;
      expect(vmi.metadata?.uid).to.not.equal(originalUid);
      expect(vmi.status?.phase).to.equal('Running');
      expect(vmi.status?.nodeName).to.equal(target);
      expect(JSON.stringify(vmi.spec.affinity), 'the rebuilt VMI is required onto the target').to.include(
        JSON.stringify({ key: 'metadata.name', operator: 'In', values: [target] }),
      );
      expect(evacuation.status).to.include({
        sourceNode: source,
        targetNode: target,
        newUID: vmi.metadata?.uid,
      });
    });
  });
});
