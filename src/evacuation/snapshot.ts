// The snapshot persisted in the evacuation's status before anything is destroyed.
import type { InstanceSnapshot } from '../api/v1alpha1/types.ts';
import type { Vmi } from '../kubevirt/schemas.ts';
import { formatTime } from '../runtime/conditions.ts';

/** Captures the VMI: spec verbatim, identity, labels, annotations, ownerReferences and its MACs. */
export function takeSnapshot(vmi: Vmi, now: Date): InstanceSnapshot {
  const m = vmi.metadata;
  const interfaces = (vmi.status?.interfaces ?? [])
    .filter((i): i is typeof i & { name: string } => typeof i.name === 'string' && i.name !== '')
    .map((i) => (i.mac ? { name: i.name, mac: i.mac } : { name: i.name }));
  return {
    capturedAt: formatTime(now),
    nodeName: vmi.status?.nodeName ?? '',
    metadata: {
      name: m.name,
      namespace: m.namespace ?? '',
      uid: m.uid ?? '',
      ...(m.labels ? { labels: { ...m.labels } } : {}),
      ...(m.annotations ? { annotations: { ...m.annotations } } : {}),
      ...(m.ownerReferences
        ? {
            ownerReferences: m.ownerReferences.map((o) => ({
              apiVersion: o.apiVersion,
              kind: o.kind,
              name: o.name,
              uid: o.uid,
              ...(o.controller !== undefined ? { controller: o.controller } : {}),
              ...(o.blockOwnerDeletion !== undefined ? { blockOwnerDeletion: o.blockOwnerDeletion } : {}),
            })),
          }
        : {}),
    },
    spec: structuredClone(vmi.spec) as Record<string, unknown>,
    ...(interfaces.length > 0 ? { interfaces } : {}),
  };
}
