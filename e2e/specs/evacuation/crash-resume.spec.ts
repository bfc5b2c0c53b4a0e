// The operator SIGKILLed in every phase of an evacuation, right after it started each destructive
// action, and started again: the evacuation carries on from what it persisted and what it observes,
// and ends with exactly one new VMI of that name, its identity intact. One node fails; a standalone
// VMI and a VM-owned one (runStrategy Always) are evacuated from it, one after the other. The node is
// fenced by the evacuator.dev/fenced annotation, so nothing but the operator deletes the launcher
// pods (the out-of-service taint would let pod GC do it too).
import { expect } from 'chai';
import { FINALIZER_STEERING, LABEL_ORIGINAL_UID } from '../../../src/api/v1alpha1/constants.ts';
import { killOnLog } from '../../support/crash.ts';
import { condition, createEvacuation, waitForPhase } from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { createNamespace, deleteNamespace, objects } from '../../support/kube.ts';
import {
  launcherPods,
  macsOf,
  readVm,
  readVmi,
  vmiManifest,
  vmManifest,
  waitForRunningVmi,
  type Vmi,
} from '../../support/kubevirt.ts';
import {
  annotateFenced,
  failNodeAndWaitNotReady,
  nodeNames,
  placeAllOn,
  restoreNode,
} from '../../support/nodes.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';
import { VmiUidRecorder } from '../../support/vmi-uids.ts';

const vmMac = '02:00:00:c7:00:01';

describe('InstanceEvacuation across operator crashes', function () {
  this.timeout(300_000);
  let namespace: string;
  let source: string;
  let uids: VmiUidRecorder;
  const operators: OperatorProcess[] = [];
  const original: Record<string, Vmi> = {};
  const rebuilt: Record<string, Vmi> = {};

  const start = async (identity: string) => {
    const operator = await startOperator(identity);
    operators.push(operator);
    return operator;
  };
  const current = () => operators[operators.length - 1]!;
  /**
   * Starts an operator and SIGKILLs it right after it logs `applying` this action for the evacuation
   * of this VMI (matched by its key: a CreateVmi line's `vmi` field names the manifest).
   */
  const crashAfter = async (vmi: string, action: string, extra: Record<string, unknown> = {}) => {
    // A SIGKILL is not instantaneous: the previous operator may have got past this action already
    // (seen in CI: DeleteVmi applied 80 ms after the DeletePod it was killed on). Then it is done,
    // and there is nothing left to crash after.
    const done = applied(action, vmi).find((l) => Object.entries(extra).every(([k, v]) => l[k] === v));
    if (done) return done;
    const operator = await start(
      `e2e-crash-${vmi}-${action}${extra.purpose ? `-${String(extra.purpose)}` : ''}`,
    );
    return killOnLog(operator, 'applying', { action, key: `${namespace}/${vmi}-evac`, ...extra });
  };
  const applied = (action: string, vmi: string) =>
    operators
      .flatMap((o) => o.logs)
      .filter((l) => l.msg === 'applying' && l.action === action && l.vmi === vmi);

  before(async function () {
    namespace = await createNamespace('e2e-evac-crash');
    source = (await nodeNames())[0]!;
    await placeAllOn(source, async () => {
      await objects.create(vmiManifest(namespace, 'st', { labels: { tier: 'db' } }));
      await objects.create(vmManifest(namespace, 'vm', 'Always', { mac: vmMac }));
      for (const name of ['st', 'vm']) original[name] = await waitForRunningVmi(namespace, name);
    });
    uids = await VmiUidRecorder.start(namespace);
    await failNodeAndWaitNotReady(source);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const o of operators.slice(-3)) console.log(o.tail(40));
  });

  after(async function () {
    uids?.stop();
    for (const operator of operators) operator.kill('SIGKILL');
    await Promise.all(operators.map((o) => o.exited));
    if (source) await restoreNode(source);
    if (namespace) await deleteNamespace(namespace);
  });

  context('a standalone VMI', function () {
    it('should resume from Fencing, after a SIGKILL there, once the node is fenced', async function () {
      const operator = await start('e2e-crash-st-fencing');
      await createEvacuation(namespace, 'st-evac', { vmiName: 'st', reason: 'e2e: crash and resume' });
      const evacuation = await waitForPhase(namespace, 'st-evac', 'Fencing');
      expect(evacuation.status?.snapshot?.metadata.uid).to.equal(original.st!.metadata!.uid);
      operator.kill('SIGKILL');
      await operator.exited;
      await annotateFenced(source);
      const line = await crashAfter('st', 'DeletePod');
      // It went on from the persisted Fencing, and recorded Terminating before deleting anything.
      expect(line, 'the new operator went on from the persisted phase').to.include({
        phase: 'Terminating',
        next: 'Terminating',
      });
    });

    it('should rebuild it once after SIGKILLs right after DeleteVmi and CreateVmi', async function () {
      for (const action of ['DeleteVmi', 'CreateVmi']) await crashAfter('st', action);
      await start('e2e-crash-st-final');
      const evacuation = await waitForPhase(namespace, 'st-evac', 'Rebuilt');
      const vmi = await waitForRunningVmi(namespace, 'st', { notUid: original.st!.metadata!.uid });
      rebuilt.st = vmi;
      expect(uids.newUids('st', original.st!.metadata!.uid!), 'VMIs created since').to.deep.equal([
        vmi.metadata?.uid,
      ]);
      expect(vmi.status?.nodeName).to.not.equal(source);
      expect(vmi.metadata?.labels).to.include({
        app: 'st',
        tier: 'db',
        [LABEL_ORIGINAL_UID]: original.st!.metadata!.uid,
      });
      expect(macsOf(vmi), 'the MAC the old instance had').to.deep.equal(macsOf(original.st));
      expect(evacuation.status?.newUID).to.equal(vmi.metadata?.uid);
      expect(await launcherPods(namespace, original.st!.metadata!.uid!)).to.have.lengthOf(0);
    });
  });

  context('a VM-owned VMI (runStrategy Always)', function () {
    it('should rebuild it once after SIGKILLs right after PersistSnapshot, PatchVm (steer), DeletePod and PatchVm (unsteer)', async function () {
      const vmUid = original.vm!.metadata!.ownerReferences![0]!.uid;
      await createEvacuation(namespace, 'vm-evac', { vmiName: 'vm', reason: 'e2e: crash and resume' });
      await killOnLog(current(), 'applying', { action: 'PersistSnapshot', key: `${namespace}/vm-evac` });
      await crashAfter('vm', 'PatchVm', { purpose: 'Steer' });
      await crashAfter('vm', 'DeletePod');
      await crashAfter('vm', 'PatchVm', { purpose: 'Unsteer' });
      await start('e2e-crash-vm-final');
      const evacuation = await waitForPhase(namespace, 'vm-evac', 'Rebuilt');
      const vmi = await waitForRunningVmi(namespace, 'vm', { notUid: original.vm!.metadata!.uid });
      rebuilt.vm = vmi;
      expect(uids.newUids('vm', original.vm!.metadata!.uid!), 'VMIs created since').to.deep.equal([
        vmi.metadata?.uid,
      ]);
      expect(vmi.metadata?.ownerReferences?.find((o) => o.controller)?.uid).to.equal(vmUid);
      expect(vmi.status?.nodeName).to.not.equal(source);
      expect(macsOf(vmi)).to.deep.equal({ default: vmMac });
      expect(applied('CreateVmi', 'vm'), 'the operator created a VMI for a VM').to.have.lengthOf(0);
      expect(evacuation.status).to.include({ vmUID: vmUid, newUID: vmi.metadata?.uid });
      const vm = (await readVm(namespace, 'vm'))!;
      expect(JSON.stringify(vm.spec.template.spec.affinity ?? {}), 'steering left').to.not.include(
        'metadata.name',
      );
      expect(await launcherPods(namespace, original.vm!.metadata!.uid!)).to.have.lengthOf(0);
    });
  });

  context('when the node rejoins while the operator is down in Rebuilt', function () {
    it('should complete both after a restart, with their VMIs untouched', async function () {
      current().kill('SIGKILL');
      await current().exited;
      await restoreNode(source);
      await start('e2e-crash-rejoined');
      for (const name of ['st', 'vm']) {
        const evacuation = await waitForPhase(namespace, `${name}-evac`, 'Completed', 120_000);
        expect(condition(evacuation, 'SourceCleaned')).to.include({ status: 'True' });
        expect(evacuation.metadata.finalizers ?? []).to.not.include(FINALIZER_STEERING);
        expect((await readVmi(namespace, name))?.metadata?.uid).to.equal(rebuilt[name]!.metadata?.uid);
        expect(uids.newUids(name, original[name]!.metadata!.uid!)).to.have.lengthOf(1);
      }
    });
  });
});
