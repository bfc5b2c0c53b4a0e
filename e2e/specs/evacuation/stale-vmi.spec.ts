// A race the review found: when the operator is down after fencing, pod GC removes the launcher pod
// and KubeVirt's VM controller recreates the VMI from the VM's template before the evacuation's
// changes (flavor, pinned MACs, steering) reached it. The evacuation must not call that VMI rebuilt:
// it replaces it, and KubeVirt recreates it from the prepared template.
import { expect } from 'chai';
import { createEvacuation, waitForPhase } from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { createNamespace, deleteNamespace, eventually, objects } from '../../support/kube.ts';
import { macsOf, readVmi, vmManifest, waitForRunningVmi, type Vmi } from '../../support/kubevirt.ts';
import {
  addTaint,
  failNodeAndWaitNotReady,
  nodeNames,
  outOfServiceTaint,
  placeAllOn,
  restoreNode,
} from '../../support/nodes.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';
import { VmiUidRecorder } from '../../support/vmi-uids.ts';

describe('InstanceEvacuation of a VM whose VMI KubeVirt recreated before the evacuation’s changes', function () {
  this.timeout(300_000);
  const operators: OperatorProcess[] = [];
  let namespace: string;
  let source: string;
  let original: Vmi;
  let uids: VmiUidRecorder;

  before(async function () {
    operators.push(await startOperator('e2e-stale-first'));
    namespace = await createNamespace('e2e-evac-stale');
    source = (await nodeNames())[0]!;
    await placeAllOn(source, async () => {
      await objects.create(vmManifest(namespace, 'web', 'Always'));
      original = await waitForRunningVmi(namespace, 'web');
    });
    uids = await VmiUidRecorder.start(namespace);
    await failNodeAndWaitNotReady(source);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const o of operators) console.log(o.tail(40));
  });

  after(async function () {
    uids?.stop();
    for (const operator of operators) operator.kill('SIGKILL');
    if (source) await restoreNode(source);
    if (namespace) await deleteNamespace(namespace);
  });

  it('should replace the stale VMI and end with one made from the prepared template', async function () {
    await createEvacuation(namespace, 'web-evac', { vmiName: 'web', flavor: { memory: '128Mi' } });
    await waitForPhase(namespace, 'web-evac', 'Fencing');
    const first = operators[0]!;
    first.kill('SIGKILL');
    await first.exited;

    // With nobody to patch the VM, pod GC and KubeVirt recreate the VMI from the old template.
    await addTaint(source, outOfServiceTaint);
    const stale = await waitForRunningVmi(namespace, 'web', {
      notUid: original.metadata!.uid,
      timeoutMs: 120_000,
    });
    expect(JSON.stringify(stale.spec)).to.not.include('128Mi');

    operators.push(await startOperator('e2e-stale-second'));
    const evacuation = await waitForPhase(namespace, 'web-evac', 'Rebuilt', 120_000);
    const vmi = await waitForRunningVmi(namespace, 'web', { notUid: stale.metadata!.uid });
    expect(evacuation.status?.newUID).to.equal(vmi.metadata?.uid);
    expect(JSON.stringify(vmi.spec), 'the flavor change').to.include('128Mi');
    expect(macsOf(vmi), 'the MAC the original instance had').to.deep.equal(macsOf(original));
    expect(uids.newUids('web', original.metadata!.uid!), 'VMIs created since').to.deep.equal([
      stale.metadata?.uid,
      vmi.metadata?.uid,
    ]);
    const deletedStale = operators[1]!.logs.some(
      (l) => l.msg === 'applying' && l.action === 'DeleteVmi' && l.uid === stale.metadata?.uid,
    );
    expect(deletedStale, 'the operator deleted the stale VMI (uid precondition)').to.equal(true);
    expect(evacuation.status?.vmPreparedGeneration, 'recorded before anything was touched').to.be.a('number');
    await eventually('the stale VMI to be gone', async () =>
      (await readVmi(namespace, 'web'))?.metadata?.uid === vmi.metadata?.uid ? true : undefined,
    );
  });
});
