// Which evacuations an observed object concerns: pure functions from an object (and the cached
// evacuations) to evacuation keys. Handlers only enqueue; these decide what.
import { ANNOTATION_FENCED } from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuation } from '../api/v1alpha1/types.ts';
import type { Node } from '../kubevirt/schemas.ts';

/** Index names on the evacuation informer. */
export const EvacuationIndex = {
  /** `namespace/vmiName`: the evacuations of one VMI. */
  byVmi: 'byVmi',
  /** `namespace/vmName`: the evacuations that steer or restart one VM. */
  byVm: 'byVm',
  /** node name: evacuations whose source or target is that node. */
  byNode: 'byNode',
} as const;

export const evacuationIndexers = {
  [EvacuationIndex.byVmi]: (e: InstanceEvacuation) => [`${e.metadata.namespace}/${e.spec.vmiName}`],
  [EvacuationIndex.byVm]: (e: InstanceEvacuation) =>
    e.status?.vmName ? [`${e.metadata.namespace}/${e.status.vmName}`] : [],
  [EvacuationIndex.byNode]: (e: InstanceEvacuation) => [
    ...new Set([e.status?.sourceNode, e.spec.targetNode].filter((n): n is string => Boolean(n))),
  ],
};

/** The label KubeVirt puts on every virt-launcher pod: the name of its VMI. */
const LAUNCHER_VMI_NAME_LABEL = 'vm.kubevirt.io/name';

export interface EvacuationLookup {
  byIndex(index: string, value: string): readonly InstanceEvacuation[];
}

const keysOf = (evacuations: readonly InstanceEvacuation[]) =>
  evacuations.map((e) => `${e.metadata.namespace}/${e.metadata.name}`);

export function evacuationsOfVmi(
  lookup: EvacuationLookup,
  namespace: string | undefined,
  vmiName: string,
): string[] {
  return keysOf(lookup.byIndex(EvacuationIndex.byVmi, `${namespace}/${vmiName}`));
}

export function evacuationsOfVm(
  lookup: EvacuationLookup,
  namespace: string | undefined,
  vmName: string,
): string[] {
  return keysOf(lookup.byIndex(EvacuationIndex.byVm, `${namespace}/${vmName}`));
}

export function evacuationsOfLauncherPod(
  lookup: EvacuationLookup,
  pod: { metadata: { namespace?: string; labels?: Record<string, string> } },
): string[] {
  const vmiName = pod.metadata.labels?.[LAUNCHER_VMI_NAME_LABEL];
  return vmiName ? evacuationsOfVmi(lookup, pod.metadata.namespace, vmiName) : [];
}

export function evacuationsOfNode(lookup: EvacuationLookup, nodeName: string | undefined): string[] {
  return nodeName ? keysOf(lookup.byIndex(EvacuationIndex.byNode, nodeName)) : [];
}

/** A namespace matters once it is being deleted: its evacuations may have to let go of snapshots. */
export function evacuationsOfDeletingNamespace(
  lookup: EvacuationLookup,
  namespace: { metadata: { name: string; deletionTimestamp?: string } },
): string[] {
  if (namespace.metadata.deletionTimestamp === undefined) return [];
  return keysOf(lookup.byIndex('namespace', namespace.metadata.name));
}

/**
 * Only what an evacuation decides on: readiness, schedulability, taints, the fenced annotation.
 * Heartbeats (condition times, kubevirt.io/heartbeat) change every few seconds and are ignored.
 */
export function nodeChangeMatters(oldNode: Node, newNode: Node): boolean {
  const view = (n: Node) =>
    JSON.stringify({
      ready: n.status?.conditions?.find((c) => c.type === 'Ready')?.status,
      unschedulable: n.spec?.unschedulable ?? false,
      taints: (n.spec?.taints ?? []).map((t) => [t.key, t.value, t.effect]),
      fenced: n.metadata.annotations?.[ANNOTATION_FENCED],
    });
  return view(oldNode) !== view(newNode);
}
