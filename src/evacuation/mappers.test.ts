import { expect } from 'chai';
import type { InstanceEvacuation } from '../api/v1alpha1/types.ts';
import type { Node } from '../kubevirt/schemas.ts';
import { indexers, Store } from '../runtime/store.ts';
import {
  evacuationIndexers,
  evacuationsOfDeletingNamespace,
  evacuationsOfLauncherPod,
  evacuationsOfNode,
  evacuationsOfVm,
  evacuationsOfVmi,
  nodeChangeMatters,
} from './mappers.ts';

function evacuation(
  name: string,
  vmiName: string,
  status: InstanceEvacuation['status'] = {},
  targetNode?: string,
): InstanceEvacuation {
  return {
    apiVersion: 'evacuator.dev/v1alpha1',
    kind: 'InstanceEvacuation',
    metadata: { name, namespace: 'ns' },
    spec: { vmiName, allowLiveSource: false, ...(targetNode ? { targetNode } : {}) },
    status,
  };
}

function store(...items: InstanceEvacuation[]) {
  const s = new Store<InstanceEvacuation>({ ...evacuationIndexers, namespace: indexers.namespace });
  for (const item of items) s.set(structuredClone(item));
  return s;
}

function node(
  ready: string,
  extra: Partial<Node['spec']> = {},
  annotations: Record<string, string> = {},
  heartbeat = '1',
): Node {
  return {
    metadata: { name: 'n', annotations: { 'kubevirt.io/heartbeat': heartbeat, ...annotations } },
    spec: { ...extra },
    status: { conditions: [{ type: 'Ready', status: ready, lastTransitionTime: heartbeat }] },
  };
}

describe('evacuation mappers', () => {
  const evacuations = store(
    evacuation('a', 'web', { sourceNode: 'n1', vmName: 'web-vm' }, 'n3'),
    evacuation('b', 'web', { sourceNode: 'n1' }),
    evacuation('c', 'db', { sourceNode: 'n2' }),
  );

  it('should map a VMI to the evacuations of that VMI name in its namespace only', () => {
    expect(evacuationsOfVmi(evacuations, 'ns', 'web').sort()).to.deep.equal(['ns/a', 'ns/b']);
    expect(evacuationsOfVmi(evacuations, 'other', 'web')).to.deep.equal([]);
  });

  it('should map a VM to the evacuations that recorded it', () => {
    expect(evacuationsOfVm(evacuations, 'ns', 'web-vm')).to.deep.equal(['ns/a']);
  });

  it('should map a launcher pod through its vm.kubevirt.io/name label, and ignore pods without it', () => {
    expect(
      evacuationsOfLauncherPod(evacuations, {
        metadata: { namespace: 'ns', labels: { 'vm.kubevirt.io/name': 'db' } },
      }),
    ).to.deep.equal(['ns/c']);
    expect(evacuationsOfLauncherPod(evacuations, { metadata: { namespace: 'ns' } })).to.deep.equal([]);
  });

  it('should map a node to the evacuations it is the source or the target of', () => {
    expect(evacuationsOfNode(evacuations, 'n1').sort()).to.deep.equal(['ns/a', 'ns/b']);
    expect(evacuationsOfNode(evacuations, 'n3')).to.deep.equal(['ns/a']);
    expect(evacuationsOfNode(evacuations, undefined)).to.deep.equal([]);
  });

  it('should map a namespace to its evacuations once it is being deleted, and only then', () => {
    const deleting = { name: 'ns', deletionTimestamp: '2026-11-26T12:00:00Z' };
    expect(evacuationsOfDeletingNamespace(evacuations, { metadata: deleting }).sort()).to.deep.equal([
      'ns/a',
      'ns/b',
      'ns/c',
    ]);
    expect(evacuationsOfDeletingNamespace(evacuations, { metadata: { name: 'ns' } })).to.deep.equal([]);
    expect(
      evacuationsOfDeletingNamespace(evacuations, { metadata: { ...deleting, name: 'other' } }),
    ).to.deep.equal([]);
  });

  describe('nodeChangeMatters', () => {
    it('should ignore heartbeats', () => {
      expect(nodeChangeMatters(node('True', {}, {}, '1'), node('True', {}, {}, '2'))).to.equal(false);
    });

    it('should see readiness, cordoning, taints and the fenced annotation change', () => {
      expect(nodeChangeMatters(node('True'), node('Unknown'))).to.equal(true);
      expect(nodeChangeMatters(node('True'), node('True', { unschedulable: true }))).to.equal(true);
      expect(
        nodeChangeMatters(
          node('Unknown'),
          node('Unknown', { taints: [{ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }] }),
        ),
      ).to.equal(true);
      expect(
        nodeChangeMatters(node('Unknown'), node('Unknown', {}, { 'evacuator.dev/fenced': 'true' })),
      ).to.equal(true);
    });
  });
});
