// The side effects decide() asks for. The controller applies them IN ORDER and stops at the first
// error (the next reconcile decides again from what it then observes). Every action is idempotent:
// NotFound on a delete and AlreadyExists on a create count as done.
import type { InstanceEvacuationStatus } from '../api/v1alpha1/types.ts';

/** RFC 6902 JSON Patch operation (apply with content type application/json-patch+json). */
export type JsonPatchOp =
  | { op: 'test'; path: string; value: unknown }
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

export type Action =
  /**
   * Write `status` to the evacuation's status subresource NOW, as an update carrying the observed
   * resourceVersion (a conflict means someone else progressed: requeue). Only the snapshot finalizer
   * may come before it in its plan: nothing is destroyed until a later reconcile observes the snapshot
   * persisted.
   */
  | { type: 'PersistSnapshot'; status: InstanceEvacuationStatus }
  /** Add the finalizer with a JSON patch (test + add on /metadata/finalizers), never a merge patch. */
  | { type: 'AddFinalizer'; finalizer: string }
  /** Remove the finalizer with a JSON patch (test the index, then remove). */
  | { type: 'RemoveFinalizer'; finalizer: string }
  /**
   * DELETE the pod with preconditions.uid = uid. gracePeriodSeconds 0 = force (only on a fenced node);
   * undefined = the pod's own grace period.
   */
  | { type: 'DeletePod'; namespace: string; name: string; uid: string; gracePeriodSeconds: 0 | undefined }
  /** DELETE storage.k8s.io/v1 VolumeAttachment with preconditions.uid = uid. */
  | { type: 'DeleteVolumeAttachment'; name: string; uid: string }
  /**
   * DELETE the VMI with preconditions.uid = uid, default grace period: the original instance, or a
   * VMI KubeVirt made from the VM before the evacuation's changes reached it.
   */
  | { type: 'DeleteVmi'; namespace: string; name: string; uid: string }
  /** POST the VMI (standalone rebuild). AlreadyExists: requeue and let the next decide() classify it. */
  | { type: 'CreateVmi'; namespace: string; vmi: Record<string, unknown> }
  /** PATCH the VirtualMachine with this JSON patch (it starts with `test` ops: a 422 means re-decide). */
  | {
      type: 'PatchVm';
      namespace: string;
      name: string;
      purpose: 'Overrides' | 'Steer' | 'Unsteer';
      patch: JsonPatchOp[];
    }
  /** PUT /apis/subresources.kubevirt.io/v1/namespaces/NS/virtualmachines/NAME/start (as `virtctl start`). 409: done. */
  | { type: 'StartVm'; namespace: string; name: string };

export type ActionType = Action['type'];

const EVACUATION_WRITES: ReadonlySet<ActionType> = new Set([
  'PersistSnapshot',
  'AddFinalizer',
  'RemoveFinalizer',
]);

/** Whether the action writes the evacuation itself (the others change what it evacuates). */
export const writesEvacuation = (action: Action): boolean => EVACUATION_WRITES.has(action.type);

export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}
