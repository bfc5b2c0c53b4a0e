// JSON patches for a VM-owned instance: flavor/image overrides and node steering go into the
// VirtualMachine (spec.template / spec.instancetype), so that KubeVirt's VM controller creates the new
// VMI; we never create a competing one.
import { Reason } from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuationSpec, InstanceSnapshot, Steering } from '../api/v1alpha1/types.ts';
import type { Vm } from '../kubevirt/schemas.ts';
import { jsonEqual } from '../runtime/conditions.ts';
import type { JsonPatchOp } from './actions.ts';
import {
  addSteering,
  applyExplicitOverrides,
  clearForInstancetype,
  hasAnySteering,
  hasSteering,
  refuse,
  removeSteering,
  type Result,
} from './overrides.ts';
import { pinMacs } from './rebuild-vmi.ts';

/**
 * The VM with the overrides applied (idempotent: applying it to its own result changes nothing).
 * - image: the template's boot disk must be a containerDisk.
 * - cpu/memory: set on spec.template.spec.domain; refused when the VM uses an instancetype (the two
 *   conflict in KubeVirt; ask for spec.flavor.instancetype instead).
 * - instancetype: spec.instancetype = {kind, name} (revisionName dropped so KubeVirt captures the new
 *   one), spec.preference replaced when given, conflicting template fields cleared.
 */
export function vmWithOverrides(vm: Vm, evac: InstanceEvacuationSpec): Result<Vm> {
  const out = structuredClone(vm);
  const flavor = evac.flavor;
  if ((flavor?.cpu !== undefined || flavor?.memory !== undefined) && vm.spec.instancetype !== undefined)
    return refuse(
      Reason.FlavorUnsupported,
      `VirtualMachine ${vm.metadata.name} uses instancetype ${vm.spec.instancetype.name}: ` +
        'give spec.flavor.instancetype instead of cpu/memory',
    );
  const template = applyExplicitOverrides(out.spec.template.spec, evac);
  if (!template.ok) return template;
  out.spec.template.spec = template.value;
  if (flavor?.instancetype !== undefined) {
    out.spec.template.spec = clearForInstancetype(out.spec.template.spec);
    out.spec.instancetype = { kind: flavor.instancetype.kind, name: flavor.instancetype.name };
    if (flavor.preference !== undefined)
      out.spec.preference = { kind: flavor.preference.kind, name: flavor.preference.name };
  }
  return { ok: true, value: out };
}

/**
 * The VM with every template interface's MAC pinned to the one the old instance had, where the
 * template set none: KubeVirt draws a new random MAC on every start otherwise, and an evacuated
 * instance keeps its MACs (as Nova keeps its ports). The pin stays: it is the instance's identity.
 */
export function vmWithPinnedMacs(vm: Vm, interfaces: InstanceSnapshot['interfaces']): Vm {
  const out = structuredClone(vm);
  out.spec.template.spec = pinMacs(out.spec.template.spec, interfaces);
  return out;
}

/** The VM as it should be while steering: overrides applied and the steering in the template. */
export function vmWithSteering(vm: Vm, steering: Steering): Vm {
  const out = structuredClone(vm);
  out.spec.template.spec = addSteering(out.spec.template.spec, steering);
  return out;
}

export function vmWithoutSteering(vm: Vm, steering: Steering): Vm {
  const out = structuredClone(vm);
  out.spec.template.spec = removeSteering(out.spec.template.spec, steering);
  return out;
}

export const vmIsSteered = (vm: Vm, s: Steering): boolean => hasSteering(vm.spec.template.spec, s);
export const vmHasSteeringLeft = (vm: Vm, s: Steering): boolean => hasAnySteering(vm.spec.template.spec, s);

/**
 * The JSON patch turning `current` into `desired` for the fields this feature edits (template spec,
 * instancetype, preference), guarded by `test` ops on uid and generation: a VM recreated or edited
 * since it was read makes the patch fail (422) instead of clobbering. Empty when nothing differs.
 */
export function vmPatch(current: Vm, desired: Vm): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const edit = (path: string, from: unknown, to: unknown) => {
    if (jsonEqual(from, to)) return;
    ops.push(to === undefined ? { op: 'remove', path } : { op: 'add', path, value: to });
  };
  edit('/spec/instancetype', current.spec.instancetype, desired.spec.instancetype);
  edit('/spec/preference', current.spec.preference, desired.spec.preference);
  edit('/spec/template/spec', current.spec.template.spec, desired.spec.template.spec);
  if (ops.length === 0) return [];
  return [
    { op: 'test', path: '/metadata/uid', value: current.metadata.uid },
    { op: 'test', path: '/metadata/generation', value: current.metadata.generation },
    ...ops,
  ];
}
