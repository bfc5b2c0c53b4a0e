// The bed runs real KubeVirt: VMs get VMIs and launcher pods through the real scheduler, virt-api
// validates, the subresource API starts VMs, and PVC and Multus volumes and networks work.
import { expect } from 'chai';
import {
  core,
  createNamespace,
  deleteNamespace,
  eventually,
  objects,
  rawRequest,
  storage,
} from '../../support/kube.ts';
import {
  createNetworkAttachmentDefinition,
  createPvc,
  launcherPods,
  vmiManifest,
  vmManifest,
  waitForRunningVmi,
} from '../../support/kubevirt.ts';

describe('KubeVirt on the bed', function () {
  let namespace: string;

  before(async function () {
    namespace = await createNamespace('e2e-kubevirt');
  });

  after(async function () {
    await deleteNamespace(namespace);
  });

  context('a VirtualMachine with runStrategy Always', function () {
    it('should get a Running VMI on a bed node with its launcher pod Running there', async function () {
      await objects.create(vmManifest(namespace, 'always', 'Always'));
      const vmi = await waitForRunningVmi(namespace, 'always');
      const node = vmi.status?.nodeName;
      expect(node).to.match(/^bed-node-\d+$/);
      expect(vmi.metadata?.labels?.['kubevirt.io/nodeName']).to.equal(node);
      const pods = await launcherPods(namespace, vmi.metadata!.uid!);
      expect(pods).to.have.lengthOf(1);
      expect(pods[0]!.spec?.nodeName).to.equal(node);
      expect(pods[0]!.status?.phase).to.equal('Running');
      expect(vmi.status?.interfaces?.[0]?.mac).to.match(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    });
  });

  context('a malformed VMI', function () {
    it('should be rejected by KubeVirt’s own validation', async function () {
      const manifest = vmiManifest(namespace, 'malformed');
      (manifest.spec.domain as { devices: { disks: object[] } }).devices.disks.push({
        name: 'no-such-volume',
        disk: {},
      });
      const error = await objects.create(manifest).then(
        () => undefined,
        (e: unknown) => e as { code?: number; body?: unknown },
      );
      expect(error, 'the malformed VMI was accepted').to.not.equal(undefined);
      expect(error!.code).to.equal(422);
      expect(JSON.stringify(error!.body)).to.include('no-such-volume');
    });
  });

  context('a VirtualMachine with runStrategy Manual', function () {
    it('should start through the subresource API, as virtctl start does', async function () {
      await objects.create(vmManifest(namespace, 'manual', 'Manual'));
      const response = await rawRequest(
        'PUT',
        `/apis/subresources.kubevirt.io/v1/namespaces/${namespace}/virtualmachines/manual/start`,
        {},
      );
      expect(response.statusCode, response.body).to.equal(202);
      await waitForRunningVmi(namespace, 'manual');
    });
  });

  context('a VMI with a PVC and a Multus network with a fixed MAC', function () {
    it('should run, report the MAC, and have its volume attached to its node', async function () {
      await createPvc(namespace, 'data');
      await createNetworkAttachmentDefinition(namespace, 'bed-net');
      const mac = '02:00:00:e2:e0:01';
      await objects.create(
        vmiManifest(namespace, 'wired', { pvc: 'data', multus: { network: 'bed-net', mac } }),
      );
      const vmi = await waitForRunningVmi(namespace, 'wired');
      expect(vmi.status?.interfaces?.find((i) => i.name === 'secondary')?.mac).to.equal(mac);

      const [pod] = await launcherPods(namespace, vmi.metadata!.uid!);
      expect(pod?.metadata?.annotations?.['k8s.v1.cni.cncf.io/networks']).to.include(mac);

      const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace, name: 'data' });
      const volumeName = pvc.spec?.volumeName;
      expect(volumeName, 'the PVC was never bound').to.be.a('string');
      await eventually(
        `a VolumeAttachment of ${volumeName} attached to ${vmi.status?.nodeName}`,
        async () => {
          const attachments = await storage.listVolumeAttachment();
          return attachments.items.find(
            (a) =>
              a.spec.source.persistentVolumeName === volumeName &&
              a.spec.nodeName === vmi.status?.nodeName &&
              a.status?.attached,
          );
        },
      );
    });
  });
});
