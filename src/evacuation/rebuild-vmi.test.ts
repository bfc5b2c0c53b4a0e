import { expect } from 'chai';
import { LABEL_ORIGINAL_UID, Reason } from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuationSpecInput } from '../api/v1alpha1/types.ts';
import { InstanceEvacuationSpecSchema } from '../api/v1alpha1/types.ts';
import type { VmiSpec } from '../kubevirt/schemas.ts';
import { buildRebuiltVmi, keptAnnotations, keptLabels } from './rebuild-vmi.ts';
import { takeSnapshot } from './snapshot.ts';
import { OLD_UID, OTHER, SOURCE, vmi, vmiSpec } from './testing.ts';

const NOW = new Date('2026-11-26T12:00:00Z');
const spec = (s: Partial<InstanceEvacuationSpecInput> = {}) =>
  InstanceEvacuationSpecSchema.parse({ vmiName: 'vm-1', ...s });

function build(s: Partial<InstanceEvacuationSpecInput> = {}, vmiSpecOverride?: VmiSpec) {
  const snap = takeSnapshot(vmi(vmiSpecOverride ? { spec: vmiSpecOverride } : {}), NOW);
  const r = buildRebuiltVmi(snap, spec(s), SOURCE);
  return r;
}
function ok(s: Partial<InstanceEvacuationSpecInput> = {}, v?: VmiSpec) {
  const r = build(s, v);
  if (!r.ok) throw new Error(r.message);
  return r.value as {
    apiVersion: string;
    kind: string;
    metadata: Record<string, unknown>;
    spec: VmiSpec;
    status?: unknown;
  };
}

describe('buildRebuiltVmi', () => {
  context('identity and metadata', () => {
    const m = ok().metadata as {
      name: string;
      namespace: string;
      labels: Record<string, string>;
      annotations: Record<string, string>;
    };
    it('should keep name and namespace', () =>
      expect([m.name, m.namespace]).to.deep.equal(['vm-1', 'tenant']));
    it('should keep user labels, drop KubeVirt’s, add original-uid', () =>
      expect(m.labels).to.deep.equal({ app: 'web', [LABEL_ORIGINAL_UID]: OLD_UID }));
    it('should keep user annotations and user-facing kubevirt.io ones only', () =>
      expect(m.annotations).to.deep.equal({
        owner: 'team-a',
        'kubevirt.io/allow-pod-bridge-network-live-migration': 'true',
      }));
    it('should carry no server-owned metadata and no status', () => {
      const v = ok();
      for (const k of [
        'uid',
        'resourceVersion',
        'creationTimestamp',
        'generation',
        'managedFields',
        'finalizers',
        'deletionTimestamp',
      ])
        expect(v.metadata, k).to.not.have.property(k);
      expect(v).to.not.have.property('status');
      expect(v.apiVersion).to.equal('kubevirt.io/v1');
      expect(v.kind).to.equal('VirtualMachineInstance');
    });
    it('should keep non-controller owner references and drop controller ones', () => {
      const source = vmi({});
      source.metadata.ownerReferences = [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'cm-uid' },
        { apiVersion: 'x/v1', kind: 'Thing', name: 't', uid: 't', controller: true },
      ];
      const r = buildRebuiltVmi(takeSnapshot(source, NOW), spec(), SOURCE);
      expect(r.ok && (r.value['metadata'] as { ownerReferences: unknown[] }).ownerReferences).to.deep.equal([
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', uid: 'cm-uid' },
      ]);
    });
    it('should leave the input snapshot untouched', () => {
      const snap = takeSnapshot(vmi({}), NOW);
      const before = structuredClone(snap);
      buildRebuiltVmi(
        snap,
        spec({ image: 'quay.io/x/y:1', flavor: { memory: '8Gi' }, targetNode: OTHER }),
        SOURCE,
      );
      expect(snap).to.deep.equal(before);
    });
  });

  context('spec', () => {
    it('should keep volumes, networks, firmware uuid and serial, nodeSelector and tolerations', () => {
      const s = ok().spec;
      const orig = vmiSpec();
      expect(s.volumes).to.deep.equal(orig.volumes);
      expect(s.networks).to.deep.equal(orig.networks);
      expect(s.domain.firmware).to.deep.equal(orig.domain.firmware);
      expect(s.nodeSelector).to.deep.equal(orig.nodeSelector);
      expect(s.tolerations).to.deep.equal(orig.tolerations);
    });
    it('should pin every interface MAC from status.interfaces, keeping a MAC set in the spec', () => {
      const v = vmiSpec();
      v.domain.devices!.interfaces![1]!.macAddress = '02:aa:aa:aa:aa:aa';
      const ifaces = ok({}, v).spec.domain.devices!.interfaces!;
      expect(ifaces.map((i) => i.macAddress)).to.deep.equal(['02:00:00:00:00:01', '02:aa:aa:aa:aa:aa']);
    });
    const affinity = (s: VmiSpec) =>
      s.affinity as {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: unknown[] } };
      };
    it('should exclude the source node when no target is given', () =>
      expect(
        affinity(ok().spec).nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
      ).to.deep.equal([{ matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: [SOURCE] }] }]));
    it('should require the target node when one is given', () =>
      expect(
        affinity(ok({ targetNode: OTHER }).spec).nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
          .nodeSelectorTerms,
      ).to.deep.equal([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [OTHER] }] }]));
    it('should AND the exclusion into each of the instance’s own node-selector terms and keep its other affinity', () => {
      const v = vmiSpec();
      v.affinity = {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
              { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
            ],
          },
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: {} }],
        },
        podAntiAffinity: { x: 1 },
      };
      const a = ok({}, v).spec.affinity as Record<string, Record<string, unknown>>;
      expect(a['podAntiAffinity']).to.deep.equal({ x: 1 });
      expect(a['nodeAffinity']!['preferredDuringSchedulingIgnoredDuringExecution']).to.deep.equal([
        { weight: 1, preference: {} },
      ]);
      const ex = { key: 'metadata.name', operator: 'NotIn', values: [SOURCE] };
      expect(
        (
          a['nodeAffinity']!['requiredDuringSchedulingIgnoredDuringExecution'] as {
            nodeSelectorTerms: unknown[];
          }
        ).nodeSelectorTerms,
      ).to.deep.equal([
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }], matchFields: [ex] },
        { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }], matchFields: [ex] },
      ]);
    });
  });

  context('overrides', () => {
    it('should replace the boot containerDisk image', () => {
      const vols = ok({ image: 'quay.io/containerdisks/fedora:41' }).spec.volumes!;
      expect(vols[0]!.containerDisk!.image).to.equal('quay.io/containerdisks/fedora:41');
      expect(vols[1]).to.deep.equal({ name: 'data', persistentVolumeClaim: { claimName: 'data-pvc' } });
    });
    it('should refuse an image when the boot disk is a PVC', () => {
      const v = vmiSpec();
      v.domain.devices!.disks = [
        { name: 'data', bootOrder: 1 },
        { name: 'root', bootOrder: 2 },
      ];
      const r = build({ image: 'quay.io/x/y:1' }, v);
      expect(r.ok).to.equal(false);
      expect(!r.ok && r.reason).to.equal(Reason.BootDiskNotContainerDisk);
      expect(!r.ok && r.message)
        .to.include('"data"')
        .and.include('persistentVolumeClaim');
    });
    it('should refuse an image when there is no disk', () => {
      const v = vmiSpec();
      v.domain.devices!.disks = [];
      expect(build({ image: 'quay.io/x/y:1' }, v).ok).to.equal(false);
    });
    it('should set cpu fields given and keep the others', () =>
      expect(ok({ flavor: { cpu: { cores: 4 } } }).spec.domain.cpu).to.deep.equal({
        cores: 4,
        sockets: 1,
        threads: 1,
      }));
    it('should drop a defaulted maxSockets below the new sockets, keep one above', () => {
      const v = vmiSpec();
      v.domain.cpu = { ...v.domain.cpu, maxSockets: 4 };
      expect(ok({ flavor: { cpu: { sockets: 8 } } }, v).spec.domain.cpu).to.not.have.property('maxSockets');
      expect(ok({ flavor: { cpu: { sockets: 2 } } }, v).spec.domain.cpu).to.include({
        maxSockets: 4,
        sockets: 2,
      });
    });
    it('should set guest memory and the memory request it had, dropping a smaller maxGuest', () => {
      const v = vmiSpec();
      v.domain.memory = { guest: '2Gi', maxGuest: '4Gi' };
      v.domain.resources = { requests: { memory: '2Gi', cpu: '1' }, limits: { memory: '2Gi' } };
      const d = ok({ flavor: { memory: '8Gi' } }, v).spec.domain;
      expect(d.memory).to.deep.equal({ guest: '8Gi' });
      expect(d.resources).to.deep.equal({ requests: { memory: '8Gi', cpu: '1' }, limits: { memory: '8Gi' } });
    });
    it('should keep a larger maxGuest', () => {
      const v = vmiSpec();
      v.domain.memory = { guest: '2Gi', maxGuest: '16Gi' };
      expect(ok({ flavor: { memory: '8Gi' } }, v).spec.domain.memory).to.deep.equal({
        guest: '8Gi',
        maxGuest: '16Gi',
      });
    });
    it('should refuse an instancetype for a standalone VMI', () => {
      const r = build({ flavor: { instancetype: { kind: 'VirtualMachineInstancetype', name: 'small' } } });
      expect(!r.ok && r.reason).to.equal(Reason.FlavorUnsupported);
    });
  });
});

describe('label and annotation filters', () => {
  it('should drop only KubeVirt-managed labels', () =>
    expect(keptLabels({ 'kubevirt.io/nodeName': 'a', 'kubevirt.io/domain': 'x', app: 'y' })).to.deep.equal({
      'kubevirt.io/domain': 'x',
      app: 'y',
    }));
  it('should drop kubevirt.io/* and last-applied annotations except user-facing ones', () =>
    expect(
      keptAnnotations({
        'kubevirt.io/storage-observed-api-version': 'v1',
        'kubectl.kubernetes.io/last-applied-configuration': '{}',
        'kubevirt.io/keep-launcher-alive-after-failure': 'true',
        'vm.kubevirt.io/os': 'fedora',
      }),
    ).to.deep.equal({
      'kubevirt.io/keep-launcher-alive-after-failure': 'true',
      'vm.kubevirt.io/os': 'fedora',
    }));
});
