// Nova's evacuate never changed flavor or image; this project does. Rebuilding from a healthy node
// (spec.allowLiveSource: graceful shutdown, no fencing) with a new CPU topology, memory and boot
// image, for a VM-owned VMI (the overrides go into the VirtualMachine) and a standalone one (into
// the rebuilt VMI); and an image change for an instance that does not boot from a containerDisk is
// refused before anything is touched.
import { expect } from 'chai';
import { LABEL_ORIGINAL_UID, Reason } from '../../../src/api/v1alpha1/constants.ts';
import {
  condition,
  conditionsText,
  createEvacuation,
  readEvacuation,
  waitForPhase,
} from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { consistently, createNamespace, deleteNamespace, objects } from '../../support/kube.ts';
import {
  createPvc,
  launcherPods,
  readVm,
  readVmi,
  vmiManifest,
  vmManifest,
  waitForRunningVmi,
  type Vmi,
} from '../../support/kubevirt.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';

const newImage = 'quay.io/kubevirt/fedora-container-disk-demo:v1.8.0';
const flavor = { cpu: { cores: 2, sockets: 1, threads: 1 }, memory: '128Mi' };

interface Domain {
  cpu?: { cores?: number; sockets?: number; threads?: number };
  memory?: { guest?: string };
  resources?: { requests?: { memory?: string } };
}
interface Spec {
  domain: Domain;
  volumes: { name: string; containerDisk?: { image: string } }[];
}

/** The instance's first disk is a PVC (the boot disk), with no containerDisk at all. */
function bootFromPvc<T extends { spec: Record<string, unknown> }>(manifest: T, claimName: string): T {
  const spec = manifest.spec as {
    domain: { devices: { disks: object[] } };
    volumes: object[];
  };
  spec.domain.devices.disks = [{ name: 'root', disk: { bus: 'virtio' } }];
  spec.volumes = [{ name: 'root', persistentVolumeClaim: { claimName } }];
  return manifest;
}

function expectOverridden(spec: Spec, what: string): void {
  expect(spec.domain.cpu, `${what} CPU topology`).to.include(flavor.cpu);
  expect(spec.domain.memory?.guest, `${what} guest memory`).to.equal(flavor.memory);
  expect(spec.domain.resources?.requests?.memory, `${what} memory request`).to.equal(flavor.memory);
  expect(
    spec.volumes.find((v) => v.name === 'containerdisk')?.containerDisk?.image,
    `${what} boot image`,
  ).to.equal(newImage);
}

describe('InstanceEvacuation with a new flavor and image', function () {
  this.timeout(300_000);
  let operator: OperatorProcess;
  let namespace: string;
  const originals: Record<string, Vmi> = {};

  before(async function () {
    operator = await startOperator('e2e-overrides');
    namespace = await createNamespace('e2e-evac-overrides');
    await createPvc(namespace, 'root-vmi');
    await createPvc(namespace, 'root-vm');
    await objects.create(vmManifest(namespace, 'web', 'Always'));
    await objects.create(vmiManifest(namespace, 'batch'));
    await objects.create(bootFromPvc(vmiManifest(namespace, 'pvc-vmi'), 'root-vmi'));
    const vm = vmManifest(namespace, 'pvc-vm', 'Always');
    bootFromPvc(vm.spec.template, 'root-vm');
    await objects.create(vm);
    for (const name of ['web', 'batch', 'pvc-vmi', 'pvc-vm'])
      originals[name] = await waitForRunningVmi(namespace, name);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(operator.tail(60));
  });

  after(async function () {
    operator?.kill('SIGKILL');
    if (namespace) await deleteNamespace(namespace);
  });

  context('on a healthy node with spec.allowLiveSource', function () {
    before(async function () {
      for (const name of ['web', 'batch'])
        await createEvacuation(namespace, `${name}-resize`, {
          vmiName: name,
          allowLiveSource: true,
          flavor,
          image: newImage,
          reason: 'e2e: resize and reimage',
        });
    });

    it('should rebuild a VM-owned VMI from the VirtualMachine with the new CPU topology, memory and image', async function () {
      // A healthy source has nothing to clean up later: Rebuilt goes straight on to Completed.
      const evacuation = await waitForPhase(namespace, 'web-resize', 'Completed');
      expect(condition(evacuation, 'SourceFenced')).to.include({ reason: Reason.FencingNotRequired });
      expect(condition(evacuation, 'Rebuilt')).to.include({ status: 'True', reason: Reason.RebuiltRunning });
      const vmi = await waitForRunningVmi(namespace, 'web', { notUid: originals.web!.metadata!.uid });
      expect(vmi.status?.nodeName).to.not.equal(originals.web!.status?.nodeName);
      expect(vmi.metadata?.ownerReferences?.find((o) => o.controller)?.uid).to.equal(
        originals.web!.metadata?.ownerReferences?.[0]?.uid,
      );
      expectOverridden(vmi.spec as unknown as Spec, 'the rebuilt VMI');
      // A flavor change is permanent, as Nova's resize: the VM keeps it for its next starts.
      const vm = (await readVm(namespace, 'web'))!;
      expectOverridden(vm.spec.template.spec as unknown as Spec, 'the VM template');
      expect(JSON.stringify(vm.spec.template.spec.affinity ?? {})).to.not.include('metadata.name');
    });

    it('should rebuild a standalone VMI from its snapshot with the new CPU topology, memory and image', async function () {
      const evacuation = await waitForPhase(namespace, 'batch-resize', 'Completed');
      expect(condition(evacuation, 'Rebuilt')).to.include({ status: 'True', reason: Reason.RebuiltRunning });
      const vmi = await waitForRunningVmi(namespace, 'batch', { notUid: originals.batch!.metadata!.uid });
      expect(vmi.status?.nodeName).to.not.equal(originals.batch!.status?.nodeName);
      expect(vmi.metadata?.labels).to.include({
        app: 'batch',
        [LABEL_ORIGINAL_UID]: originals.batch!.metadata!.uid,
      });
      expectOverridden(vmi.spec as unknown as Spec, 'the rebuilt VMI');
    });

    it('should leave no launcher pod of the old instances behind', async function () {
      for (const name of ['web', 'batch']) {
        const evacuation = await readEvacuation(namespace, `${name}-resize`);
        expect(condition(evacuation, 'SourceCleaned')).to.include({ status: 'True' });
        expect(await launcherPods(namespace, originals[name]!.metadata!.uid!)).to.have.lengthOf(0);
      }
    });
  });

  context('with an image for an instance whose boot disk is a PVC', function () {
    for (const name of ['pvc-vmi', 'pvc-vm']) {
      it(`should fail ${name}'s evacuation with BootDiskNotContainerDisk and touch nothing`, async function () {
        const vmBefore = await readVm(namespace, name);
        await createEvacuation(namespace, `${name}-reimage`, {
          vmiName: name,
          allowLiveSource: true,
          image: newImage,
        });
        const evacuation = await waitForPhase(namespace, `${name}-reimage`, 'Failed');
        expect(condition(evacuation, 'Accepted'), conditionsText(evacuation)).to.include({
          status: 'False',
          reason: Reason.BootDiskNotContainerDisk,
        });
        expect(condition(evacuation, 'Accepted')?.message).to.include('"root" is a persistentVolumeClaim');
        expect(evacuation.status?.snapshot).to.equal(undefined);
        const uid = originals[name]!.metadata!.uid!;
        await consistently(
          `VMI ${name} to stay Running on its node with its launcher pod, and its VM unchanged`,
          async () => {
            const vmi = await readVmi(namespace, name);
            const vm = await readVm(namespace, name);
            return (
              vmi?.metadata?.uid === uid &&
              vmi.status?.phase === 'Running' &&
              vmi.status.nodeName === originals[name]!.status?.nodeName &&
              (await launcherPods(namespace, uid)).length === 1 &&
              vm?.metadata?.generation === vmBefore?.metadata?.generation &&
              (await readEvacuation(namespace, `${name}-reimage`))?.metadata.finalizers === undefined
            );
          },
          5_000,
        );
      });
    }
  });
});
