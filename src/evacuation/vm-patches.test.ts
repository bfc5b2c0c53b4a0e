import { expect } from 'chai';
import { jsonEqual } from '../runtime/conditions.ts';
import { Reason } from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuationSpecInput } from '../api/v1alpha1/types.ts';
import { InstanceEvacuationSpecSchema } from '../api/v1alpha1/types.ts';
import type { Vm } from '../kubevirt/schemas.ts';
import { SOURCE, OTHER, VM_UID, vm, vmiSpec } from './testing.ts';
import {
  vmHasSteeringLeft,
  vmIsSteered,
  vmPatch,
  vmWithOverrides,
  vmWithSteering,
  vmWithoutSteering,
} from './vm-patches.ts';

const spec = (s: Partial<InstanceEvacuationSpecInput>) =>
  InstanceEvacuationSpecSchema.parse({ vmiName: 'vm-1', ...s });
const overridden = (v: Vm, s: Partial<InstanceEvacuationSpecInput>) => {
  const r = vmWithOverrides(v, spec(s));
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

/** Minimal RFC 6902 apply for the ops vmPatch emits (add/remove/test on object members). */
function apply(doc: Vm, ops: ReturnType<typeof vmPatch>): Vm {
  const out = structuredClone(doc) as unknown as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path.split('/').slice(1);
    const last = parts.pop()!;
    let parent = out;
    for (const p of parts) parent = parent[p] as Record<string, unknown>;
    if (op.op === 'test') {
      if (!jsonEqual(parent[last], op.value)) throw new Error(`test failed at ${op.path}`);
    } else if (op.op === 'remove') Reflect.deleteProperty(parent, last);
    else parent[last] = op.value;
  }
  return out as unknown as Vm;
}

describe('VM patches', () => {
  context('vmWithOverrides', () => {
    it('should set cpu/memory on the template', () => {
      const v = overridden(vm('Always'), { flavor: { cpu: { sockets: 2 }, memory: '8Gi' } });
      expect(v.spec.template.spec.domain.cpu).to.deep.equal({ cores: 2, sockets: 2, threads: 1 });
      expect(v.spec.template.spec.domain.memory).to.deep.equal({ guest: '8Gi' });
    });
    it('should replace the template boot containerDisk image', () => {
      const v = overridden(vm('Always'), { image: 'quay.io/containerdisks/fedora:41' });
      expect(v.spec.template.spec.volumes![0]!.containerDisk!.image).to.equal(
        'quay.io/containerdisks/fedora:41',
      );
    });
    it('should refuse an image when the template boots from a PVC', () => {
      const t = vmiSpec();
      t.domain.devices!.disks = [{ name: 'data', bootOrder: 1 }];
      const r = vmWithOverrides(vm('Always', { template: t }), spec({ image: 'quay.io/x/y:1' }));
      expect(!r.ok && r.reason).to.equal(Reason.BootDiskNotContainerDisk);
    });
    it('should switch to an instancetype, clearing what conflicts with it', () => {
      const v = overridden(vm('Always'), {
        flavor: {
          instancetype: { kind: 'VirtualMachineClusterInstancetype', name: 'u1.large' },
          preference: { kind: 'VirtualMachineClusterPreference', name: 'fedora' },
        },
      });
      expect(v.spec.instancetype).to.deep.equal({
        kind: 'VirtualMachineClusterInstancetype',
        name: 'u1.large',
      });
      expect(v.spec.preference).to.deep.equal({ kind: 'VirtualMachineClusterPreference', name: 'fedora' });
      expect(v.spec.template.spec.domain).to.not.have.any.keys('cpu', 'memory');
      expect(v.spec.template.spec.domain.resources).to.deep.equal({});
      expect(v.spec.template.spec.domain.firmware).to.deep.equal(vmiSpec().domain.firmware);
    });
    it('should replace an instancetype (dropping revisionName) and keep the preference when none is given', () => {
      const base = vm('Always', { instancetype: 'u1.small' });
      base.spec.instancetype = { ...base.spec.instancetype!, revisionName: 'rev-1' };
      base.spec.preference = { kind: 'VirtualMachineClusterPreference', name: 'rhel' };
      const v = overridden(base, {
        flavor: { instancetype: { kind: 'VirtualMachineInstancetype', name: 'big' } },
      });
      expect(v.spec.instancetype).to.deep.equal({ kind: 'VirtualMachineInstancetype', name: 'big' });
      expect(v.spec.preference).to.deep.equal({ kind: 'VirtualMachineClusterPreference', name: 'rhel' });
    });
    it('should refuse cpu/memory on a VM with an instancetype', () => {
      const r = vmWithOverrides(
        vm('Always', { instancetype: 'u1.small' }),
        spec({ flavor: { cpu: { cores: 2 } } }),
      );
      expect(!r.ok && r.reason).to.equal(Reason.FlavorUnsupported);
    });
    for (const s of [
      { flavor: { memory: '8Gi' } },
      { image: 'quay.io/x/y:2' },
      { flavor: { instancetype: { kind: 'VirtualMachineInstancetype' as const, name: 'big' } } },
      {},
    ])
      it(`should be idempotent for ${JSON.stringify(s)}`, () => {
        const once = overridden(vm('Always'), s);
        expect(overridden(once, s)).to.deep.equal(once);
      });
  });

  context('steering', () => {
    const notIn = { operator: 'NotIn' as const, node: SOURCE };
    const inTarget = { operator: 'In' as const, node: OTHER };
    it('should add and then remove steering, restoring the template exactly', () => {
      for (const s of [notIn, inTarget]) {
        const v = vm('Always');
        const steered = vmWithSteering(v, s);
        expect(vmIsSteered(steered, s)).to.equal(true);
        expect(vmIsSteered(v, s)).to.equal(false);
        const back = vmWithoutSteering(steered, s);
        expect(back).to.deep.equal(v);
        expect(vmHasSteeringLeft(back, s)).to.equal(false);
      }
    });
    it('should keep user terms and drop only our requirement', () => {
      const v = vm('Always');
      v.spec.template.spec.affinity = {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }],
          },
        },
      };
      const back = vmWithoutSteering(vmWithSteering(v, notIn), notIn);
      expect(back).to.deep.equal(v);
    });
    it('should not add the same steering twice', () => {
      const once = vmWithSteering(vm('Always'), notIn);
      expect(vmWithSteering(once, notIn)).to.deep.equal(once);
    });
  });

  context('vmPatch', () => {
    it('should be empty when nothing differs', () =>
      expect(vmPatch(vm('Always'), vm('Always'))).to.deep.equal([]));
    it('should guard with uid and generation and turn current into desired', () => {
      const cur = vm('Always', { instancetype: 'u1.small' });
      const desired = vmWithSteering(
        overridden(cur, { flavor: { instancetype: { kind: 'VirtualMachineInstancetype', name: 'big' } } }),
        { operator: 'NotIn', node: SOURCE },
      );
      const ops = vmPatch(cur, desired);
      expect(ops.slice(0, 2)).to.deep.equal([
        { op: 'test', path: '/metadata/uid', value: VM_UID },
        { op: 'test', path: '/metadata/generation', value: 7 },
      ]);
      expect(apply(cur, ops)).to.deep.equal(desired);
    });
    it('should remove spec.instancetype when the desired VM has none', () => {
      const cur = vm('Always', { instancetype: 'u1.small' });
      const desired = structuredClone(cur);
      delete desired.spec.instancetype;
      expect(vmPatch(cur, desired)).to.deep.include({ op: 'remove', path: '/spec/instancetype' });
      expect(apply(cur, vmPatch(cur, desired))).to.deep.equal(desired);
    });
    it('should fail its test when the VM changed since it was read', () => {
      const cur = vm('Always');
      const ops = vmPatch(cur, vmWithSteering(cur, { operator: 'NotIn', node: SOURCE }));
      const changed = { ...cur, metadata: { ...cur.metadata, generation: 8 } };
      expect(() => apply(changed, ops)).to.throw(/test failed/);
    });
  });
});
