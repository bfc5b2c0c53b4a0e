// Pure edits of a VMI spec (standalone VMI or a VM's spec.template.spec): the flavor/image overrides
// and the node steering. Inputs are never modified.
import { Reason } from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuationSpec, Steering } from '../api/v1alpha1/types.ts';
import { bootDisk } from '../kubevirt/predicates.ts';
import type { VmiSpec } from '../kubevirt/schemas.ts';

export type Refusal = { ok: false; reason: Reason; message: string };
export type Result<T> = { ok: true; value: T } | Refusal;

export const refuse = (reason: Reason, message: string): Refusal => ({ ok: false, reason, message });

type Obj = Record<string, unknown>;
const without = <T extends Obj>(o: T, keys: readonly string[]): T =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as T;
const obj = (v: unknown): Obj | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;

/** Binary/decimal quantity → bytes (approximate for exponent forms; only used to compare sizes). */
export function quantityValue(q: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (m === null) return NaN;
  const units: Record<string, number> = {
    '': 1,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    P: 1e15,
    E: 1e18,
    m: 1e-3,
  };
  const u = units[m[2]!];
  return u === undefined ? Number(q) : Number(m[1]) * u;
}

/**
 * Applies spec.image (boot containerDisk) and an explicit spec.flavor (cpu/memory) to a VMI spec.
 * - image: the boot disk must be a containerDisk, else refused (BootDiskNotContainerDisk).
 * - cpu: the given cores/sockets/threads replace the current ones; a defaulted cpu.maxSockets lower
 *   than the new sockets is dropped (KubeVirt defaults it again).
 * - memory: domain.memory.guest = memory; a maxGuest below it is dropped; resources.requests.memory and
 *   resources.limits.memory are set to it where the instance had them (they described the old size).
 * An instancetype flavor is not applied here (see vm-patches.ts; a standalone VMI cannot use one).
 */
export function applyExplicitOverrides(spec: VmiSpec, evac: InstanceEvacuationSpec): Result<VmiSpec> {
  const out = structuredClone(spec);
  if (evac.image !== undefined) {
    const boot = bootDisk(out);
    if (boot === undefined)
      return refuse(
        Reason.BootDiskNotContainerDisk,
        'spec.image is set but the instance has no disk to boot from',
      );
    if (boot.source !== 'containerDisk' || boot.volume?.containerDisk === undefined)
      return refuse(
        Reason.BootDiskNotContainerDisk,
        `spec.image can only replace a containerDisk, but boot disk "${boot.disk.name}" is a ${boot.source} volume`,
      );
    boot.volume.containerDisk.image = evac.image;
  }
  const cpu = evac.flavor?.cpu;
  if (cpu !== undefined) {
    const c = (out.domain.cpu ??= {});
    if (cpu.cores !== undefined) c.cores = cpu.cores;
    if (cpu.sockets !== undefined) c.sockets = cpu.sockets;
    if (cpu.threads !== undefined) c.threads = cpu.threads;
    if (typeof c['maxSockets'] === 'number' && c.sockets !== undefined && c['maxSockets'] < c.sockets)
      delete c['maxSockets'];
  }
  const memory = evac.flavor?.memory;
  if (memory !== undefined) {
    const m = (out.domain.memory ??= {});
    m.guest = memory;
    if (typeof m['maxGuest'] === 'string' && quantityValue(m['maxGuest']) < quantityValue(memory))
      delete m['maxGuest'];
    const resources = obj(out.domain.resources);
    for (const kind of ['requests', 'limits']) {
      const list = obj(resources?.[kind]);
      if (list !== undefined && list['memory'] !== undefined) list['memory'] = memory;
    }
  }
  return { ok: true, value: out };
}

/**
 * Removes what conflicts with an instancetype (KubeVirt pkg/instancetype/apply: cpu topology and
 * cpu/memory resources, guest memory) so the VM controller can expand the new instancetype.
 */
export function clearForInstancetype(spec: VmiSpec): VmiSpec {
  const out = structuredClone(spec);
  if (out.domain.cpu !== undefined) {
    const cpu = without(out.domain.cpu, ['cores', 'sockets', 'threads', 'maxSockets']);
    if (Object.keys(cpu).length === 0) delete out.domain.cpu;
    else out.domain.cpu = cpu;
  }
  if (out.domain.memory !== undefined) {
    delete out.domain.memory.guest;
    delete out.domain.memory['maxGuest'];
    if (Object.keys(out.domain.memory).length === 0) delete out.domain.memory;
  }
  const resources = obj(out.domain.resources);
  if (resources !== undefined) {
    const kept: Obj = {};
    for (const [kind, value] of Object.entries(resources)) {
      const list = obj(value);
      if (list === undefined || (kind !== 'requests' && kind !== 'limits')) kept[kind] = value;
      else {
        const rest = without(list, ['cpu', 'memory']);
        if (Object.keys(rest).length > 0) kept[kind] = rest;
      }
    }
    out.domain.resources = kept;
  }
  return out;
}

// ---- steering: required node affinity on metadata.name (matchFields), ANDed into every term ----

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}
interface Term {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
}

const steeringRequirement = (s: Steering): Requirement => ({
  key: 'metadata.name',
  operator: s.operator,
  values: [s.node],
});
const isSteering = (r: Requirement, s: Steering) =>
  r.key === 'metadata.name' && r.operator === s.operator && r.values?.length === 1 && r.values[0] === s.node;

function requiredTerms(spec: VmiSpec): Term[] | undefined {
  const required = obj(
    obj(obj(spec.affinity)?.['nodeAffinity'])?.['requiredDuringSchedulingIgnoredDuringExecution'],
  );
  return required?.['nodeSelectorTerms'] as Term[] | undefined;
}

/** True when every required node-selector term carries the steering requirement. */
export function hasSteering(spec: VmiSpec, s: Steering): boolean {
  const terms = requiredTerms(spec);
  return (
    terms !== undefined &&
    terms.length > 0 &&
    terms.every((t) => (t.matchFields ?? []).some((r) => isSteering(r, s)))
  );
}

/** True when any term carries it (partly steered counts as steered for cleanup). */
export function hasAnySteering(spec: VmiSpec, s: Steering): boolean {
  return (requiredTerms(spec) ?? []).some((t) => (t.matchFields ?? []).some((r) => isSteering(r, s)));
}

/**
 * Adds `metadata.name <operator> [node]` to every required node-selector term (terms are ORed, so it
 * must be in each), creating the required affinity when there is none. The instance's own affinity,
 * nodeSelector and tolerations stay as they are.
 */
export function addSteering(spec: VmiSpec, s: Steering): VmiSpec {
  if (hasSteering(spec, s)) return structuredClone(spec);
  const out = structuredClone(spec);
  const affinity = (out.affinity ??= {}) as Obj;
  const nodeAffinity = (affinity['nodeAffinity'] ??= {}) as Obj;
  const required = (nodeAffinity['requiredDuringSchedulingIgnoredDuringExecution'] ??= {}) as Obj;
  const terms = (required['nodeSelectorTerms'] ??= []) as Term[];
  if (terms.length === 0) terms.push({});
  for (const t of terms) {
    if (!(t.matchFields ?? []).some((r) => isSteering(r, s)))
      (t.matchFields ??= []).push(steeringRequirement(s));
  }
  return out;
}

/** Removes exactly what addSteering added, and the containers it left empty. */
export function removeSteering(spec: VmiSpec, s: Steering): VmiSpec {
  const out = structuredClone(spec);
  const affinity = obj(out.affinity);
  const nodeAffinity = obj(affinity?.['nodeAffinity']);
  const required = obj(nodeAffinity?.['requiredDuringSchedulingIgnoredDuringExecution']);
  const terms = required?.['nodeSelectorTerms'] as Term[] | undefined;
  if (terms === undefined) return out;
  const kept: Term[] = [];
  for (const t of terms) {
    if (t.matchFields !== undefined) {
      t.matchFields = t.matchFields.filter((r) => !isSteering(r, s));
      if (t.matchFields.length === 0) delete t.matchFields;
    }
    if (Object.keys(t).length > 0) kept.push(t);
  }
  required!['nodeSelectorTerms'] = kept;
  if (kept.length === 0) {
    delete required!['nodeSelectorTerms'];
    if (Object.keys(required!).length === 0)
      delete nodeAffinity!['requiredDuringSchedulingIgnoredDuringExecution'];
    if (Object.keys(nodeAffinity!).length === 0) delete affinity!['nodeAffinity'];
    if (Object.keys(affinity!).length === 0) delete out.affinity;
  }
  return out;
}

/** Where the new instance must (In [target]) or must not (NotIn [source]) go. */
export const steeringFor = (sourceNode: string, targetNode: string | undefined): Steering =>
  targetNode !== undefined ? { operator: 'In', node: targetNode } : { operator: 'NotIn', node: sourceNode };
