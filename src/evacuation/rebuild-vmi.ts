// The manifest of a rebuilt standalone VMI, from the persisted snapshot (pure).
import { LABEL_ORIGINAL_UID, Reason } from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuationSpec, InstanceSnapshot } from '../api/v1alpha1/types.ts';
import { VmiSpecSchema, type VmiSpec } from '../kubevirt/schemas.ts';
import { addSteering, applyExplicitOverrides, refuse, steeringFor, type Result } from './overrides.ts';

/** Labels KubeVirt sets on a VMI itself; the rebuilt VMI gets fresh ones from KubeVirt. */
export const KUBEVIRT_MANAGED_LABELS: readonly string[] = [
  'kubevirt.io/nodeName',
  'kubevirt.io/migrationTargetNodeName',
  'kubevirt.io/outdatedLauncherImage',
  'kubevirt.io/schedulable',
];

/** kubevirt.io/ annotations a user sets (all other kubevirt.io/* annotations are KubeVirt's own). */
export const USER_KUBEVIRT_ANNOTATIONS: readonly string[] = [
  'kubevirt.io/allow-pod-bridge-network-live-migration',
  'kubevirt.io/keep-launcher-alive-after-failure',
];

const DROPPED_ANNOTATIONS: readonly string[] = ['kubectl.kubernetes.io/last-applied-configuration'];

export function keptLabels(labels: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(labels ?? {}).filter(([k]) => !KUBEVIRT_MANAGED_LABELS.includes(k)),
  );
}

export function keptAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(annotations ?? {}).filter(
      ([k]) =>
        !DROPPED_ANNOTATIONS.includes(k) &&
        (!k.startsWith('kubevirt.io/') || USER_KUBEVIRT_ANNOTATIONS.includes(k)),
    ),
  );
}

/** Pins each interface's MAC: its own spec MAC, else the one the old instance had (status.interfaces). */
export function pinMacs(spec: VmiSpec, interfaces: InstanceSnapshot['interfaces']): VmiSpec {
  const out = structuredClone(spec);
  for (const iface of out.domain.devices?.interfaces ?? []) {
    if (iface.macAddress) continue;
    const mac = interfaces?.find((i) => i.name === iface.name)?.mac;
    if (mac) iface.macAddress = mac;
  }
  return out;
}

/**
 * The rebuilt standalone VMI: same name and namespace; the user's labels plus evacuator.dev/original-uid
 * (the snapshot's UID: how a restarted operator recognises its own VMI); the user's annotations
 * (KubeVirt's own and kubectl's last-applied dropped); the non-controller ownerReferences; the same spec
 * (volumes, networks, firmware uuid and serial: Nova keeps the instance identity) with every interface
 * MAC pinned, the source node excluded (or the target required) on top of the instance's own
 * scheduling constraints, and the flavor/image overrides. No status, uid, resourceVersion,
 * creationTimestamp, generation, managedFields or finalizers: the API server and KubeVirt set those.
 */
export function buildRebuiltVmi(
  snapshot: InstanceSnapshot,
  spec: InstanceEvacuationSpec,
  sourceNode: string,
): Result<Record<string, unknown>> {
  if (spec.flavor?.instancetype !== undefined)
    return refuse(
      Reason.FlavorUnsupported,
      'spec.flavor.instancetype needs a VirtualMachine: a standalone VMI cannot reference an instancetype; give spec.flavor.cpu/memory',
    );
  const parsed = VmiSpecSchema.safeParse(snapshot.spec);
  if (!parsed.success)
    return refuse(
      Reason.VmiNotFound,
      `the persisted snapshot has no usable VMI spec: ${parsed.error.message}`,
    );
  const overridden = applyExplicitOverrides(parsed.data, spec);
  if (!overridden.ok) return overridden;
  const steered = addSteering(
    pinMacs(overridden.value, snapshot.interfaces),
    steeringFor(sourceNode, spec.targetNode),
  );
  const owners = (snapshot.metadata.ownerReferences ?? []).filter((o) => o.controller !== true);
  const annotations = keptAnnotations(snapshot.metadata.annotations);
  return {
    ok: true,
    value: {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachineInstance',
      metadata: {
        name: snapshot.metadata.name,
        namespace: snapshot.metadata.namespace,
        labels: { ...keptLabels(snapshot.metadata.labels), [LABEL_ORIGINAL_UID]: snapshot.metadata.uid },
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        ...(owners.length > 0 ? { ownerReferences: owners } : {}),
      },
      spec: steered,
    },
  };
}
