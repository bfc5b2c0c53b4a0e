// What the controller observes for one InstanceEvacuation, and the knobs decide() takes.
import type { InstanceEvacuation } from '../api/v1alpha1/types.ts';
import type { Node, Pod, Pvc, Vm, Vmi, VolumeAttachment } from '../kubevirt/schemas.ts';

/**
 * Everything decide() looks at, read from synced caches (never call decide() before every informer
 * has synced: "absent" below means "does not exist", and several answers are terminal).
 */
export interface Observed {
  evacuation: InstanceEvacuation;
  /** The other InstanceEvacuations of the same VMI (same namespace and spec.vmiName). */
  siblings: readonly InstanceEvacuation[];
  /** The VMI named spec.vmiName in the namespace: the original, the rebuilt one, or someone else's. */
  vmi: Vmi | undefined;
  /** The VirtualMachine named status.vmName (after the snapshot), else the VMI's controlling VM. */
  vm: Vm | undefined;
  /** The Node named status.sourceNode (before the snapshot: the VMI's status.nodeName); undefined = no such Node. */
  sourceNode: Node | undefined;
  /** The Node named spec.targetNode; undefined when there is no such Node (or none was requested). */
  targetNode: Node | undefined;
  /** virt-launcher pods of the namespace (label kubevirt.io=virt-launcher); decide() filters by created-by. */
  launcherPods: readonly Pod[];
  /** PVCs of the namespace named by the instance's volumes (extra ones are ignored). */
  pvcs: readonly Pvc[];
  /** VolumeAttachments whose spec.nodeName is the source node (extra ones are ignored). */
  volumeAttachments: readonly VolumeAttachment[];
  /** The namespace is being deleted: nothing can be created in it any more. */
  namespaceDeleting: boolean;
}

export interface DecideConfig {
  /** The rebuilt instance must be Running within this many seconds of Rebuilding starting. */
  rebuildTimeoutSeconds: number;
  /** After the source rejoins, how long the kubelet gets to clean up before we force. */
  cleanupGraceSeconds: number;
  /** Re-check period while waiting on something no watch reports promptly (fencing, node rejoin). */
  recheckSeconds: number;
  /** A start request without a new VMI after this many seconds is sent again. */
  startRetrySeconds: number;
}

export const DEFAULT_CONFIG: DecideConfig = {
  rebuildTimeoutSeconds: 300,
  cleanupGraceSeconds: 120,
  recheckSeconds: 30,
  startRetrySeconds: 60,
};
