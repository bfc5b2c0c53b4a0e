import { expect } from 'chai';
import {
  bootDisk,
  claimNamesOf,
  isFenced,
  launcherPodsOf,
  nodeHealth,
  nodeReady,
  nodeSchedulable,
  pvNamesOf,
  readySince,
  vmOwner,
  vmRunStrategy,
  vmiIsFinal,
  volumeAttachmentsOn,
  type NodeHealth,
} from './predicates.ts';
import {
  NodeSchema,
  VmiSchema,
  type Node,
  type Pod,
  type Vm,
  type VmiSpec,
  type VolumeAttachment,
} from './schemas.ts';

const node = (ready: string | undefined, extra: Partial<Node> = {}): Node => ({
  metadata: { name: 'n1' },
  status:
    ready === undefined ? {} : { conditions: [{ type: 'Ready', status: ready, lastTransitionTime: 'T0' }] },
  ...extra,
});

describe('Node predicates', () => {
  context('nodeHealth', () => {
    const cases: [string, Node | undefined, NodeHealth][] = [
      ['Ready=True', node('True'), 'Ready'],
      ['Ready=False', node('False'), 'NotReady'],
      ['Ready=Unknown', node('Unknown'), 'Unknown'],
      ['no Ready condition', node(undefined), 'Unknown'],
      ['no Node object', undefined, 'Gone'],
    ];
    for (const [name, n, want] of cases) {
      it(`should say ${want} for ${name}`, () => {
        expect(nodeHealth(n)).to.equal(want);
        expect(nodeReady(n)).to.equal(want === 'Ready');
      });
    }
    it('should report when Ready last changed', () => {
      expect(readySince(node('True'))).to.equal('T0');
      expect(readySince(undefined)).to.equal(undefined);
    });
  });

  context('isFenced', () => {
    const oos = (effect: string, value?: string) => ({
      spec: { taints: [{ key: 'node.kubernetes.io/out-of-service', effect, ...(value ? { value } : {}) }] },
    });
    const cases: [string, Node | undefined, boolean, string | undefined][] = [
      ['a deleted node', undefined, true, 'NodeDeleted'],
      [
        'the out-of-service NoExecute taint',
        node('Unknown', oos('NoExecute', 'nodeshutdown')),
        true,
        'OutOfServiceTaint',
      ],
      [
        'the out-of-service taint without value',
        node('Unknown', oos('NoExecute')),
        true,
        'OutOfServiceTaint',
      ],
      [
        'the out-of-service taint with effect NoSchedule',
        node('Unknown', oos('NoSchedule')),
        false,
        undefined,
      ],
      [
        'the admin annotation',
        node('Unknown', { metadata: { name: 'n1', annotations: { 'evacuator.dev/fenced': 'true' } } }),
        true,
        'AdminAnnotation',
      ],
      [
        'the admin annotation left on a Ready node',
        node('True', { metadata: { name: 'n1', annotations: { 'evacuator.dev/fenced': 'true' } } }),
        false,
        undefined,
      ],
      [
        'the admin annotation set to false',
        node('Unknown', { metadata: { name: 'n1', annotations: { 'evacuator.dev/fenced': 'false' } } }),
        false,
        undefined,
      ],
      [
        'only the unreachable taint',
        node('Unknown', {
          spec: { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] },
        }),
        false,
        undefined,
      ],
      ['nothing', node('Unknown'), false, undefined],
    ];
    for (const [name, n, fenced, how] of cases) {
      it(`should say fenced=${fenced} (${how}) for ${name}`, () => {
        expect(isFenced(n)).to.deep.equal({ fenced, how });
      });
    }
  });

  it('should treat a cordoned node as unschedulable', () => {
    expect(nodeSchedulable(node('True'))).to.equal(true);
    expect(nodeSchedulable(node('True', { spec: { unschedulable: true } }))).to.equal(false);
  });

  it('should parse a Node and keep unknown fields', () => {
    const n = NodeSchema.parse({ metadata: { name: 'x' }, spec: { podCIDR: '10.0.0.0/24' } });
    expect(n.spec).to.deep.equal({ podCIDR: '10.0.0.0/24' });
  });
});

describe('VMI predicates', () => {
  const owner = (kind: string, controller: boolean | undefined, apiVersion = 'kubevirt.io/v1') => ({
    metadata: { name: 'a', ownerReferences: [{ apiVersion, kind, name: 'vm-a', uid: 'vm-uid', controller }] },
  });
  context('vmOwner', () => {
    it('should find a controlling VirtualMachine', () =>
      expect(vmOwner(owner('VirtualMachine', true))).to.deep.equal({ name: 'vm-a', uid: 'vm-uid' }));
    it('should ignore a non-controller reference', () =>
      expect(vmOwner(owner('VirtualMachine', undefined))).to.equal(undefined));
    it('should ignore another kind', () => expect(vmOwner(owner('ReplicaSet', true))).to.equal(undefined));
    it('should ignore another group', () =>
      expect(vmOwner(owner('VirtualMachine', true, 'example.com/v1'))).to.equal(undefined));
    it('should say standalone without references', () =>
      expect(vmOwner({ metadata: { name: 'a' } })).to.equal(undefined));
  });

  it('should call Failed and Succeeded final', () => {
    const vmi = (phase: string) =>
      VmiSchema.parse({ metadata: { name: 'a' }, spec: { domain: {} }, status: { phase } });
    expect(['Failed', 'Succeeded', 'Running', 'Scheduled', ''].map((p) => vmiIsFinal(vmi(p)))).to.deep.equal([
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  context('vmRunStrategy', () => {
    const vm = (spec: Partial<Vm['spec']>): Vm => ({
      metadata: { name: 'vm' },
      spec: { template: { spec: { domain: {} } }, ...spec },
    });
    const cases: [Partial<Vm['spec']>, string][] = [
      [{ runStrategy: 'Manual' }, 'Manual'],
      [{ runStrategy: 'RerunOnFailure', running: true }, 'RerunOnFailure'],
      [{ running: true }, 'Always'],
      [{ running: false }, 'Halted'],
      [{}, 'Halted'],
    ];
    for (const [spec, want] of cases)
      it(`should say ${want} for ${JSON.stringify(spec)}`, () =>
        expect(vmRunStrategy(vm(spec))).to.equal(want));
  });

  it('should find only the launcher pods created by that VMI uid', () => {
    const pod = (name: string, labels: Record<string, string>): Pod => ({ metadata: { name, labels } });
    const pods = [
      pod('ok', { 'kubevirt.io': 'virt-launcher', 'kubevirt.io/created-by': 'u1' }),
      pod('other-vmi', { 'kubevirt.io': 'virt-launcher', 'kubevirt.io/created-by': 'u2' }),
      pod('not-launcher', { 'kubevirt.io': 'hotplug-disk', 'kubevirt.io/created-by': 'u1' }),
      pod('unlabelled', {}),
    ];
    expect(launcherPodsOf('u1', pods).map((p) => p.metadata.name)).to.deep.equal(['ok']);
  });

  context('bootDisk', () => {
    const spec = (disks: { name: string; bootOrder?: number }[]): VmiSpec => ({
      domain: { devices: { disks } },
      volumes: [
        { name: 'root', containerDisk: { image: 'img' } },
        { name: 'data', persistentVolumeClaim: { claimName: 'pvc-data' } },
        { name: 'dv', dataVolume: { name: 'dv-1' } },
        { name: 'ci', cloudInitNoCloud: { userData: '#cloud-config' } },
      ],
    });
    const cases: [string, { name: string; bootOrder?: number }[], string | undefined, string | undefined][] =
      [
        ['the first disk without bootOrder', [{ name: 'root' }, { name: 'data' }], 'root', 'containerDisk'],
        [
          'the lowest bootOrder',
          [
            { name: 'root', bootOrder: 2 },
            { name: 'data', bootOrder: 1 },
          ],
          'data',
          'persistentVolumeClaim',
        ],
        [
          'a bootOrder over an unordered first disk',
          [{ name: 'root' }, { name: 'dv', bootOrder: 5 }],
          'dv',
          'dataVolume',
        ],
        ['a cloud-init disk first', [{ name: 'ci' }, { name: 'root' }], 'ci', 'other'],
        ['no disks', [], undefined, undefined],
      ];
    for (const [name, disks, want, source] of cases) {
      it(`should pick ${want ?? 'nothing'} for ${name}`, () => {
        const b = bootDisk(spec(disks));
        expect(b?.disk.name).to.equal(want);
        expect(b?.source).to.equal(source);
      });
    }
  });

  it('should find claims, their PVs and their attachments on the node', () => {
    const spec: VmiSpec = {
      domain: {},
      volumes: [
        { name: 'a', persistentVolumeClaim: { claimName: 'pvc-a' } },
        { name: 'b', dataVolume: { name: 'dv-b' } },
        { name: 'c', containerDisk: { image: 'x' } },
        { name: 'a2', persistentVolumeClaim: { claimName: 'pvc-a' } },
      ],
    };
    const claims = claimNamesOf(spec);
    expect(claims).to.deep.equal(['pvc-a', 'dv-b']);
    const pvs = pvNamesOf(claims, [
      { metadata: { name: 'pvc-a' }, spec: { volumeName: 'pv-a' } },
      { metadata: { name: 'dv-b' }, spec: {} },
      { metadata: { name: 'other' }, spec: { volumeName: 'pv-o' } },
    ]);
    expect(pvs).to.deep.equal(['pv-a']);
    const va = (name: string, nodeName: string, pv: string): VolumeAttachment => ({
      metadata: { name },
      spec: { attacher: 'csi', nodeName, source: { persistentVolumeName: pv } },
    });
    const found = volumeAttachmentsOn('n1', pvs, [
      va('1', 'n1', 'pv-a'),
      va('2', 'n2', 'pv-a'),
      va('3', 'n1', 'pv-o'),
    ]);
    expect(found.map((v) => v.metadata.name)).to.deep.equal(['1']);
  });
});
