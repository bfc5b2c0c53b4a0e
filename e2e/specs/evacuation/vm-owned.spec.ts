// VM-owned instances evacuated from one failed node: the operator steers each VirtualMachine away
// from the source and lets KubeVirt's VM controller recreate the VMI (Always, RerunOnFailure), starts
// it through the subresource API (Manual), or leaves it stopped (Halted); it never creates a
// competing VMI, and removes its steering once the new VMI is placed without restarting it.
import { expect } from 'chai';
import { LABEL_ORIGINAL_UID, Reason } from '../../../src/api/v1alpha1/constants.ts';
import { HttpMethod, kubeRestClient } from '../../../src/runtime/rest.ts';
import {
  condition,
  conditionsText,
  createEvacuation,
  readEvacuation,
  waitForPhase,
} from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import {
  consistently,
  createNamespace,
  deleteNamespace,
  eventually,
  kc,
  objects,
  rawRequest,
} from '../../support/kube.ts';
import {
  launcherPods,
  macsOf,
  readVm,
  readVmi,
  vmManifest,
  waitForRunningVmi,
  type Vm,
  type Vmi,
} from '../../support/kubevirt.ts';
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

const rest = kubeRestClient(kc);

/**
 * The VMs of the story: name → runStrategy and the MAC pinned in its template. The Always VM pins
 * none: KubeVirt draws a random MAC at each start, and the evacuation must keep the one it had.
 */
const restarted = [
  { name: 'always', runStrategy: 'Always', mac: undefined },
  { name: 'rerun', runStrategy: 'RerunOnFailure', mac: '02:00:00:e1:00:02' },
  { name: 'manual', runStrategy: 'Manual', mac: '02:00:00:e1:00:03' },
] as const;
const halted = { name: 'halted', mac: '02:00:00:e1:00:04' };

const steeringIn = (spec: unknown) => JSON.stringify(spec ?? {}).includes('"metadata.name"');
const controllerOf = (vmi: Vmi | undefined) =>
  vmi?.metadata?.ownerReferences?.find((o) => o.controller === true);

describe('InstanceEvacuation of VM-owned VMIs from a failed node', function () {
  this.timeout(300_000);
  let operator: OperatorProcess;
  let namespace: string;
  let source: string;
  let uids: VmiUidRecorder;
  const original: Record<string, { vmiUid: string; vmUid: string; mac: string | undefined }> = {};
  const rebuilt: Record<string, Vmi> = {};

  const vmPath = (name: string) => `/apis/kubevirt.io/v1/namespaces/${namespace}/virtualmachines/${name}`;

  before(async function () {
    operator = await startOperator('e2e-vm-owned');
    namespace = await createNamespace('e2e-evac-vm-owned');
    source = (await nodeNames())[0]!;
    await placeAllOn(source, async () => {
      for (const vm of [...restarted, { ...halted, runStrategy: 'Always' }])
        await objects.create(vmManifest(namespace, vm.name, vm.runStrategy, { mac: vm.mac }));
      const started = await rawRequest(
        'PUT',
        `/apis/subresources.kubevirt.io/v1/namespaces/${namespace}/virtualmachines/manual/start`,
        {},
      );
      expect(started.statusCode, started.body).to.equal(202);
      for (const name of [...restarted.map((v) => v.name), halted.name]) {
        const vmi = await waitForRunningVmi(namespace, name);
        expect(vmi.status?.nodeName, `${name} placed on ${source}`).to.equal(source);
        original[name] = {
          vmiUid: vmi.metadata!.uid!,
          vmUid: controllerOf(vmi)!.uid,
          mac: macsOf(vmi).default,
        };
      }
    });
    uids = await VmiUidRecorder.start(namespace);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(operator.tail(80));
  });

  after(async function () {
    uids?.stop();
    operator?.kill('SIGKILL');
    if (source) await restoreNode(source);
    if (namespace) await deleteNamespace(namespace);
  });

  context('when the node dies and is not fenced yet', function () {
    it('should accept one evacuation per VMI and wait in Fencing with every VMI untouched', async function () {
      await failNodeAndWaitNotReady(source);
      // Someone stops the Halted VM while its node is dead: its VMI is stuck deleting there.
      await rest.request(HttpMethod.PATCH, vmPath(halted.name), {
        body: { spec: { runStrategy: 'Halted' } },
        contentType: 'application/merge-patch+json',
      });
      await eventually(`VMI ${halted.name} to be deleting`, async () =>
        (await readVmi(namespace, halted.name))?.metadata?.deletionTimestamp ? true : undefined,
      );
      for (const { name } of [...restarted, halted])
        await createEvacuation(namespace, `${name}-evac`, { vmiName: name, reason: 'e2e: node died' });
      for (const { name } of [...restarted, halted]) {
        const evacuation = await waitForPhase(namespace, `${name}-evac`, 'Fencing');
        expect(evacuation.status, name).to.include({
          vmOwned: true,
          vmName: name,
          vmUID: original[name]!.vmUid,
          originalUID: original[name]!.vmiUid,
          sourceNode: source,
        });
        expect((await readVmi(namespace, name))?.metadata?.uid).to.equal(original[name]!.vmiUid);
      }
    });
  });

  context('when the node is fenced with the out-of-service taint', function () {
    before(async function () {
      await addTaint(source, outOfServiceTaint);
    });

    for (const { name, runStrategy, mac } of restarted) {
      it(`should rebuild the ${runStrategy} VM's VMI on another node: same name, same owner, same MAC`, async function () {
        const evacuation = await waitForPhase(namespace, `${name}-evac`, 'Rebuilt');
        const vmi = await waitForRunningVmi(namespace, name, { notUid: original[name]!.vmiUid });
        rebuilt[name] = vmi;
        expect(vmi.status?.nodeName).to.not.equal(source);
        expect(controllerOf(vmi), 'owned by the same VirtualMachine').to.include({
          kind: 'VirtualMachine',
          name,
          uid: original[name]!.vmUid,
        });
        expect(macsOf(vmi)).to.deep.equal({ default: mac ?? original[name]!.mac });
        expect(evacuation.status).to.include({ newUID: vmi.metadata?.uid, targetNode: vmi.status?.nodeName });
        expect(await launcherPods(namespace, original[name]!.vmiUid)).to.have.lengthOf(0);
        expect(uids.newUids(name, original[name]!.vmiUid), 'VMIs created since').to.deep.equal([
          vmi.metadata?.uid,
        ]);
        // KubeVirt's VM controller made it: nothing of the standalone path is on it.
        expect(vmi.metadata?.labels ?? {}).to.not.have.property(LABEL_ORIGINAL_UID);
        const created = operator.logs.filter((l) => l.msg === 'applying' && l.action === 'CreateVmi');
        expect(created, 'the operator created a VMI').to.have.lengthOf(0);
        const starts = operator.logs.filter(
          (l) => l.msg === 'applying' && l.action === 'StartVm' && l.name === name,
        );
        if (runStrategy === 'Manual') {
          expect(starts, 'the start subresource was called').to.have.length.greaterThan(0);
          expect(evacuation.status?.startRequestedAt).to.be.a('string');
        } else {
          expect(starts, 'the VM controller restarts it by itself').to.have.lengthOf(0);
        }
      });
    }

    it('should keep the Halted VM stopped, without steering it', async function () {
      const evacuation = await waitForPhase(namespace, `${halted.name}-evac`, 'Rebuilt');
      expect(condition(evacuation, 'Rebuilt'), conditionsText(evacuation)).to.include({
        status: 'True',
        reason: Reason.RebuiltStopped,
      });
      await eventually(`VMI ${halted.name} gone`, async () =>
        (await readVmi(namespace, halted.name)) === undefined ? true : undefined,
      );
      const vm = (await readVm(namespace, halted.name))!;
      expect(vm.spec.runStrategy).to.equal('Halted');
      expect(steeringIn(vm.spec.template.spec.affinity), 'steering on a Halted VM').to.equal(false);
      expect(uids.newUids(halted.name, original[halted.name]!.vmiUid)).to.deep.equal([]);
    });

    it('should remove its steering from every VM without restarting the rebuilt VMIs', async function () {
      for (const { name } of restarted) {
        const vm = (await readVm(namespace, name))!;
        expect(steeringIn(vm.spec.template.spec.affinity), `steering left on VM ${name}`).to.equal(false);
        expect(vm.status?.conditions?.find((c) => c.type === 'RestartRequired')).to.equal(undefined);
        expect((await readEvacuation(namespace, `${name}-evac`))?.status?.steering).to.deep.equal({
          operator: 'NotIn',
          node: source,
        });
      }
      await consistently(
        'every rebuilt VMI to keep its UID and keep Running, and the Halted VM to stay stopped',
        async () => {
          for (const { name } of restarted) {
            const vmi = await readVmi(namespace, name);
            if (vmi?.metadata?.uid !== rebuilt[name]!.metadata?.uid || vmi?.status?.phase !== 'Running')
              return false;
            if (uids.uids(name).length !== 2) return false;
          }
          return (await readVmi(namespace, halted.name)) === undefined;
        },
        8_000,
      );
      const vms = await Promise.all(restarted.map(({ name }) => readVm(namespace, name)));
      for (const vm of vms as Vm[])
        expect(
          vm.status?.conditions?.find((c) => c.type === 'RestartRequired'),
          `VM ${vm.metadata?.name}`,
        ).to.equal(undefined);
    });
  });

  context('when the failed node rejoins', function () {
    it('should complete every evacuation and drop its finalizer', async function () {
      await restoreNode(source);
      for (const { name } of [...restarted, halted]) {
        const evacuation = await waitForPhase(namespace, `${name}-evac`, 'Completed', 120_000);
        expect(condition(evacuation, 'SourceCleaned')).to.include({ status: 'True' });
        expect(evacuation.metadata.finalizers ?? []).to.deep.equal([]);
      }
      for (const { name } of restarted)
        expect((await readVmi(namespace, name))?.metadata?.uid).to.equal(rebuilt[name]!.metadata?.uid);
    });
  });
});
