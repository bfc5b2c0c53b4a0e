import { expect } from 'chai';
import { loadAll } from 'js-yaml';
import { nodeKwokConfig, storageKwokConfig } from './stages.ts';

interface Stage {
  kind: string;
  metadata: { name: string };
  spec: {
    resourceRef: { apiGroup: string; kind: string };
    selector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] };
    next?: { statusTemplate?: string; statusSubresource?: string; statusPatchAs?: { username: string } };
  };
}

const stagesOf = (config: string) => loadAll(config) as Stage[];

describe('the bed’s kwok stages', () => {
  const stages = stagesOf(nodeKwokConfig('bed-node-7'));
  const vmiRunning = stages.find((s) => s.metadata.name === 'vmi-running')!;

  it('should make only Scheduled VMIs of its own node Running, as KubeVirt’s handler account', () => {
    expect(vmiRunning.spec.resourceRef).to.deep.equal({
      apiGroup: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
    });
    expect(vmiRunning.spec.selector?.matchExpressions).to.deep.include({
      key: '.status.nodeName',
      operator: 'In',
      values: ['bed-node-7'],
    });
    expect(vmiRunning.spec.selector?.matchExpressions).to.deep.include({
      key: '.status.phase',
      operator: 'In',
      values: ['Scheduled'],
    });
    expect(vmiRunning.spec.next?.statusPatchAs?.username).to.equal(
      'system:serviceaccount:kubevirt:kubevirt-handler',
    );
  });

  it('should write VMI status through the object (KubeVirt’s CRD has no status subresource), times in whole seconds', () => {
    expect(vmiRunning.spec.next?.statusSubresource).to.equal('');
    expect(vmiRunning.spec.next?.statusTemplate).to.include('dateInZone "2006-01-02T15:04:05Z"');
    expect(vmiRunning.spec.next?.statusTemplate).to.not.match(/\{\{\s*\$now := Now/);
  });

  it('should keep the node’s KubeVirt heartbeat only while the node is Ready', () => {
    const heartbeats = stages.filter((s) => s.metadata.name.startsWith('kubevirt-heartbeat'));
    expect(heartbeats).to.have.lengthOf(2);
    for (const stage of heartbeats) {
      expect(stage.spec.selector?.matchExpressions?.[0]).to.deep.include({
        operator: 'In',
        values: ['True'],
      });
    }
  });

  it('should leave storage to the storage process, which provisions and attaches for the bed’s driver only', () => {
    expect(stages.map((s) => s.spec.resourceRef.kind)).to.not.include.members([
      'PersistentVolumeClaim',
      'VolumeAttachment',
    ]);
    const storage = stagesOf(storageKwokConfig());
    expect(storage.map((s) => s.metadata.name)).to.have.members([
      'pvc-provision',
      'pv-delete',
      'volume-attach',
      'volume-detach',
    ]);
    for (const stage of storage.filter((s) => s.spec.resourceRef.kind === 'VolumeAttachment')) {
      expect(stage.spec.selector?.matchExpressions).to.deep.include({
        key: '.spec.attacher',
        operator: 'In',
        values: ['bed.csi.evacuator.dev'],
      });
    }
  });
});
