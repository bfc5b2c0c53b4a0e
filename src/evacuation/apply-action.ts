// The imperative shell's one verb: carry out an Action decide() asked for, idempotently. NotFound on a
// delete and AlreadyExists on a create mean "already done"; conflicts and precondition failures are
// thrown so the reconcile retries and decides again from fresh observations.
import type { InstanceEvacuation, InstanceEvacuationStatus } from '../api/v1alpha1/types.ts';
import { apiErrorCode, isAlreadyExists, isConflict, isNotFound } from '../runtime/errors.ts';
import { resourcePath } from '../runtime/resource.ts';
import { HttpMethod, type RestClient } from '../runtime/rest.ts';
import type { Action } from './actions.ts';
import { resources, vmStartPath } from './resources.ts';

const JSON_PATCH = 'application/json-patch+json';

/** Writes the whole status through the status subresource, guarded by the observed resourceVersion. */
export async function writeStatus(
  rest: RestClient,
  evacuation: InstanceEvacuation,
  status: InstanceEvacuationStatus,
): Promise<InstanceEvacuation> {
  const { namespace, name } = evacuation.metadata;
  return rest.request<InstanceEvacuation>(
    HttpMethod.PUT,
    `${resourcePath(resources.evacuations, namespace, name)}/status`,
    { body: { ...evacuation, status } },
  );
}

async function deleteWithUid(
  rest: RestClient,
  path: string,
  uid: string,
  gracePeriodSeconds?: number,
): Promise<void> {
  try {
    await rest.request(HttpMethod.DELETE, path, {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        preconditions: { uid },
        ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}),
      },
    });
  } catch (err) {
    // Gone already, or a different object under that name now: either way ours no longer exists.
    if (isNotFound(err) || (isConflict(err) && /precondition/i.test(String((err as Error).message)))) return;
    throw err;
  }
}

function finalizerPatch(evacuation: InstanceEvacuation, finalizer: string, add: boolean): unknown[] {
  const finalizers = evacuation.metadata.finalizers ?? [];
  if (add) {
    if (finalizers.includes(finalizer)) return [];
    return finalizers.length === 0
      ? [
          { op: 'test', path: '/metadata/resourceVersion', value: evacuation.metadata.resourceVersion },
          { op: 'add', path: '/metadata/finalizers', value: [finalizer] },
        ]
      : [
          { op: 'test', path: '/metadata/finalizers', value: finalizers },
          { op: 'add', path: '/metadata/finalizers/-', value: finalizer },
        ];
  }
  const index = finalizers.indexOf(finalizer);
  if (index < 0) return [];
  return [
    { op: 'test', path: `/metadata/finalizers/${index}`, value: finalizer },
    { op: 'remove', path: `/metadata/finalizers/${index}` },
  ];
}

export interface ApplyOutcome {
  /** The evacuation as the API server returned it after a write of ours (to chain further writes). */
  evacuation?: InstanceEvacuation;
}

export async function applyAction(
  rest: RestClient,
  evacuation: InstanceEvacuation,
  action: Action,
): Promise<ApplyOutcome> {
  switch (action.type) {
    case 'PersistSnapshot':
      return { evacuation: await writeStatus(rest, evacuation, action.status) };
    case 'AddFinalizer':
    case 'RemoveFinalizer': {
      const patch = finalizerPatch(evacuation, action.finalizer, action.type === 'AddFinalizer');
      if (patch.length === 0) return {};
      const { namespace, name } = evacuation.metadata;
      const updated = await rest.request<InstanceEvacuation>(
        HttpMethod.PATCH,
        resourcePath(resources.evacuations, namespace, name),
        {
          body: patch,
          contentType: JSON_PATCH,
        },
      );
      return { evacuation: updated };
    }
    case 'DeletePod':
      await deleteWithUid(
        rest,
        resourcePath(resources.pods, action.namespace, action.name),
        action.uid,
        action.gracePeriodSeconds,
      );
      return {};
    case 'DeleteVolumeAttachment':
      await deleteWithUid(
        rest,
        resourcePath(resources.volumeAttachments, undefined, action.name),
        action.uid,
      );
      return {};
    case 'DeleteVmi':
      await deleteWithUid(rest, resourcePath(resources.vmis, action.namespace, action.name), action.uid);
      return {};
    case 'CreateVmi':
      try {
        await rest.request(HttpMethod.POST, resourcePath(resources.vmis, action.namespace), {
          body: action.vmi,
        });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
      return {};
    case 'PatchVm':
      await rest.request(HttpMethod.PATCH, resourcePath(resources.vms, action.namespace, action.name), {
        body: action.patch,
        contentType: JSON_PATCH,
      });
      return {};
    case 'StartVm':
      try {
        await rest.request(HttpMethod.PUT, vmStartPath(action.namespace, action.name), { body: {} });
      } catch (err) {
        // 409: already running or being started — what we asked for.
        if (apiErrorCode(err) !== 409) throw err;
      }
      return {};
  }
}
