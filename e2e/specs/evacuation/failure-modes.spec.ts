// How an evacuation ends when it cannot do its job: a second evacuation of a VMI that one is already
// evacuating is refused before touching anything, and a rebuilt VMI that cannot run anywhere within
// --rebuild-timeout fails the evacuation (Nova's `error`), keeping the snapshot for a retry. One node
// failure serves both: the VMI is pinned (nodeSelector) to a node only it matches, and the rebuilt VMI
// keeps that constraint, so once that node dies there is nowhere else to run it — until another node
// gets the label, and a new evacuation retries from the failed one's snapshot.
import { expect } from 'chai';
import { ConditionType, FINALIZER_SNAPSHOT, Phase, Reason } from '../../../src/api/v1alpha1/constants.ts';
import { consistently, createNamespace, deleteNamespace, eventually, objects } from '../../support/kube.ts';
import { condition, createEvacuation, readEvacuation, waitForPhase } from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { launcherPods, readVmi, vmiManifest, waitForRunningVmi } from '../../support/kubevirt.ts';
import {
  annotateFenced,
  failNodeAndWaitNotReady,
  readyNodes,
  restoreNode,
  setNodeLabel,
} from '../../support/nodes.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';

const pinLabel = 'evacuator.dev/e2e-pinned';
const rebuildTimeoutSeconds = 10;

describe('InstanceEvacuation that cannot proceed', function () {
  this.timeout(300_000);
  let operator: OperatorProcess;
  let namespace: string;
  let source: string | undefined;
  let originalUid: string;
  let target: string | undefined;

  before(async function () {
    operator = await startOperator('e2e-failure-modes', [`--rebuild-timeout=${rebuildTimeoutSeconds}s`]);
    namespace = await createNamespace('e2e-evac-failures');
    source = (await readyNodes())[0]!;
    await setNodeLabel(source, pinLabel, namespace);
    await objects.create(vmiManifest(namespace, 'pinned', { nodeSelector: { [pinLabel]: namespace } }));
    const vmi = await waitForRunningVmi(namespace, 'pinned');
    expect(vmi.status?.nodeName).to.equal(source);
    originalUid = vmi.metadata!.uid!;
    await failNodeAndWaitNotReady(source);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(operator.tail(60));
  });

  after(async function () {
    operator?.kill('SIGKILL');
    // The label goes first, so that the unschedulable rebuilt VMI cannot land on the recovered node.
    if (source) await restoreNode(source, [pinLabel]);
    if (target) await restoreNode(target, [pinLabel]);
    if (namespace) await deleteNamespace(namespace);
  });

  context('when a second evacuation of the same VMI is created while one is active', function () {
    it('should fail the second with DuplicateEvacuation, touching nothing', async function () {
      await createEvacuation(namespace, 'first', { vmiName: 'pinned' });
      const first = await waitForPhase(namespace, 'first', Phase.Fencing);
      expect(first.metadata.finalizers, 'its snapshot is held until the rebuild').to.include(
        FINALIZER_SNAPSHOT,
      );
      await createEvacuation(namespace, 'second', { vmiName: 'pinned' });
      const second = await waitForPhase(namespace, 'second', Phase.Failed);
      expect(condition(second, ConditionType.Accepted)).to.include({
        status: 'False',
        reason: Reason.DuplicateEvacuation,
      });
      expect(condition(second, ConditionType.Accepted)?.message).to.include('first');
      expect(second.status?.snapshot, 'a refused evacuation persists no snapshot').to.equal(undefined);
      await consistently(
        'the VMI and its launcher pod to stay, and the first evacuation to keep waiting for fencing',
        async () =>
          (await readVmi(namespace, 'pinned'))?.metadata?.uid === originalUid &&
          (await launcherPods(namespace, originalUid)).length === 1 &&
          (await readEvacuation(namespace, 'first'))?.status?.phase === Phase.Fencing &&
          (await readEvacuation(namespace, 'second'))?.status?.phase === Phase.Failed,
        5_000,
      );
    });
  });

  context('when the rebuilt VMI cannot run anywhere within --rebuild-timeout', function () {
    it('should fail with RebuildTimeout and keep the snapshot', async function () {
      await annotateFenced(source!);
      const evacuation = await waitForPhase(namespace, 'first', Phase.Failed, 90_000);
      const rebuilt = condition(evacuation, ConditionType.Rebuilt);
      expect(rebuilt).to.include({ status: 'False', reason: Reason.RebuildTimeout });
      expect(rebuilt?.message).to.include(`${rebuildTimeoutSeconds}s`);
      const { Rebuilding: began, Failed: failed } = evacuation.status?.phaseTimestamps ?? {};
      expect(began, 'it got as far as Rebuilding').to.be.a('string');
      expect(new Date(failed!).getTime() - new Date(began!).getTime()).to.be.at.least(
        rebuildTimeoutSeconds * 1000,
      );
      expect(evacuation.status?.snapshot?.metadata.uid).to.equal(originalUid);
      await eventually('the snapshot finalizer of the failed evacuation to go', async () =>
        (await readEvacuation(namespace, 'first'))?.metadata.finalizers?.includes(FINALIZER_SNAPSHOT)
          ? undefined
          : true,
      );
      expect(evacuation.status?.snapshot?.nodeName).to.equal(source);
      expect(JSON.stringify(evacuation.status?.snapshot?.spec)).to.include(pinLabel);

      const vmi = await readVmi(namespace, 'pinned');
      expect(vmi?.metadata?.uid, 'the rebuilt VMI was created').to.not.equal(originalUid);
      expect(vmi?.status?.nodeName, 'but never scheduled').to.equal(undefined);
    });
  });

  context('when the cause is fixed and the evacuation is retried', function () {
    let unscheduledUid: string;

    it('should refuse the retry while the unscheduled copy holds the name, saying to delete it', async function () {
      unscheduledUid = (await readVmi(namespace, 'pinned'))!.metadata!.uid!;
      await createEvacuation(namespace, 'retry-too-early', { vmiName: 'pinned' });
      const refused = await waitForPhase(namespace, 'retry-too-early', Phase.Failed);
      expect(condition(refused, ConditionType.Accepted)).to.include({ reason: Reason.VmiNotScheduled });
      expect(condition(refused, ConditionType.Accepted)?.message).to.include('delete it to retry');
      expect((await readVmi(namespace, 'pinned'))?.metadata?.uid).to.equal(unscheduledUid);
    });

    it('should rebuild from the failed evacuation’s snapshot once the copy is deleted', async function () {
      target = (await readyNodes()).find((n) => n !== source)!;
      await setNodeLabel(target, pinLabel, namespace);
      await objects.delete(vmiManifest(namespace, 'pinned'));
      await eventually('the unscheduled copy to be gone', async () =>
        (await readVmi(namespace, 'pinned')) ? undefined : true,
      );
      await createEvacuation(namespace, 'retry', { vmiName: 'pinned' });
      const retried = await waitForPhase(namespace, 'retry', Phase.Rebuilt);
      expect(condition(retried, ConditionType.SourceFenced)).to.include({ reason: Reason.RetryFromSnapshot });
      expect(retried.status).to.include({ originalUID: originalUid, sourceNode: source, vmOwned: false });
      const vmi = await waitForRunningVmi(namespace, 'pinned', { notUid: unscheduledUid });
      expect(vmi.status?.nodeName).to.equal(target);
      expect(vmi.metadata?.labels?.['evacuator.dev/original-uid']).to.equal(originalUid);
    });
  });
});
