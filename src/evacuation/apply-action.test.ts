import { expect } from 'chai';
import { ApiException } from '@kubernetes/client-node';
import type { InstanceEvacuation } from '../api/v1alpha1/types.ts';
import type { HttpMethod, RequestOptions, RestClient } from '../runtime/rest.ts';
import { applyAction } from './apply-action.ts';

interface Call {
  method: HttpMethod;
  path: string;
  options: RequestOptions;
}

/** Records every request; answers each with the next queued response (an object or an error). */
function fakeRest(...responses: unknown[]): RestClient & { calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    async request<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
      calls.push({ method, path, options });
      const next = responses.shift();
      if (next instanceof Error) throw next;
      return next as T;
    },
  };
}

const apiError = (code: number, reason: string, message = reason) =>
  new ApiException(code, message, { kind: 'Status', reason, message }, {});

const evacuation: InstanceEvacuation = {
  apiVersion: 'evacuator.dev/v1alpha1',
  kind: 'InstanceEvacuation',
  metadata: { name: 'e', namespace: 'ns', resourceVersion: '7', finalizers: ['other'] },
  spec: { vmiName: 'vm', allowLiveSource: false },
};

describe('applyAction', () => {
  context('DeletePod on a fenced node', () => {
    it('should force-delete with the UID as a precondition', async () => {
      const rest = fakeRest({});
      await applyAction(rest, evacuation, {
        type: 'DeletePod',
        namespace: 'ns',
        name: 'p',
        uid: 'u1',
        gracePeriodSeconds: 0,
      });
      expect(rest.calls).to.have.lengthOf(1);
      expect(rest.calls[0]).to.deep.include({ method: 'DELETE', path: '/api/v1/namespaces/ns/pods/p' });
      expect(rest.calls[0]!.options.body).to.deep.include({
        preconditions: { uid: 'u1' },
        gracePeriodSeconds: 0,
      });
    });

    it('should count a pod already gone, or replaced by another UID, as done', async () => {
      await applyAction(fakeRest(apiError(404, 'NotFound')), evacuation, {
        type: 'DeletePod',
        namespace: 'ns',
        name: 'p',
        uid: 'u1',
        gracePeriodSeconds: 0,
      });
      const replaced = apiError(
        409,
        'Conflict',
        'Precondition failed: UID in precondition: u1, UID in object meta: u2',
      );
      await applyAction(fakeRest(replaced), evacuation, {
        type: 'DeletePod',
        namespace: 'ns',
        name: 'p',
        uid: 'u1',
        gracePeriodSeconds: 0,
      });
    });

    it('should surface any other error so the reconcile retries', async () => {
      const error = await applyAction(fakeRest(apiError(500, 'InternalError')), evacuation, {
        type: 'DeletePod',
        namespace: 'ns',
        name: 'p',
        uid: 'u1',
        gracePeriodSeconds: 0,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ApiException);
    });
  });

  context('DeleteVmi and DeleteVolumeAttachment', () => {
    it('should delete with the default grace period and the UID precondition', async () => {
      const rest = fakeRest({}, {});
      await applyAction(rest, evacuation, { type: 'DeleteVmi', namespace: 'ns', name: 'vm', uid: 'u' });
      await applyAction(rest, evacuation, { type: 'DeleteVolumeAttachment', name: 'va', uid: 'v' });
      expect(rest.calls.map((c) => c.path)).to.deep.equal([
        '/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances/vm',
        '/apis/storage.k8s.io/v1/volumeattachments/va',
      ]);
      expect(rest.calls[0]!.options.body).to.not.have.property('gracePeriodSeconds');
      expect(rest.calls[1]!.options.body).to.deep.include({ preconditions: { uid: 'v' } });
    });
  });

  context('CreateVmi', () => {
    it('should treat AlreadyExists as done (the next decision classifies the VMI)', async () => {
      const rest = fakeRest(apiError(409, 'AlreadyExists'));
      await applyAction(rest, evacuation, {
        type: 'CreateVmi',
        namespace: 'ns',
        vmi: { metadata: { name: 'vm' } },
      });
      expect(rest.calls[0]).to.deep.include({
        method: 'POST',
        path: '/apis/kubevirt.io/v1/namespaces/ns/virtualmachineinstances',
      });
    });

    it('should not swallow a conflict that is not AlreadyExists', async () => {
      const error = await applyAction(fakeRest(apiError(409, 'Conflict')), evacuation, {
        type: 'CreateVmi',
        namespace: 'ns',
        vmi: {},
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(ApiException);
    });
  });

  context('PatchVm and StartVm', () => {
    it('should send the JSON patch as is, and call the start subresource as virtctl does', async () => {
      const rest = fakeRest({}, apiError(409, 'Conflict', 'VM is already running'));
      const patch = [{ op: 'test' as const, path: '/metadata/uid', value: 'x' }];
      await applyAction(rest, evacuation, {
        type: 'PatchVm',
        namespace: 'ns',
        name: 'vm',
        purpose: 'Steer',
        patch,
      });
      await applyAction(rest, evacuation, { type: 'StartVm', namespace: 'ns', name: 'vm' });
      expect(rest.calls[0]!.options).to.deep.include({
        body: patch,
        contentType: 'application/json-patch+json',
      });
      expect(rest.calls[1]).to.deep.include({
        method: 'PUT',
        path: '/apis/subresources.kubevirt.io/v1/namespaces/ns/virtualmachines/vm/start',
      });
    });
  });

  context('PersistSnapshot', () => {
    it('should PUT the whole status guarded by the observed resourceVersion', async () => {
      const written = { ...evacuation, metadata: { ...evacuation.metadata, resourceVersion: '8' } };
      const rest = fakeRest(written);
      const outcome = await applyAction(rest, evacuation, {
        type: 'PersistSnapshot',
        status: { phase: 'Pending' },
      });
      expect(rest.calls[0]).to.deep.include({
        method: 'PUT',
        path: '/apis/evacuator.dev/v1alpha1/namespaces/ns/instanceevacuations/e/status',
      });
      expect(rest.calls[0]!.options.body).to.deep.include({ status: { phase: 'Pending' } });
      expect((rest.calls[0]!.options.body as InstanceEvacuation).metadata.resourceVersion).to.equal('7');
      expect(outcome.evacuation).to.equal(written);
    });
  });

  context('finalizers', () => {
    it('should append with a test of the current list, and remove by index with a test', async () => {
      const rest = fakeRest(evacuation, evacuation);
      await applyAction(rest, evacuation, { type: 'AddFinalizer', finalizer: 'evacuator.dev/vm-steering' });
      await applyAction(
        rest,
        { ...evacuation, metadata: { ...evacuation.metadata, finalizers: ['other', 'mine'] } },
        { type: 'RemoveFinalizer', finalizer: 'mine' },
      );
      expect(rest.calls[0]!.options.body).to.deep.equal([
        { op: 'test', path: '/metadata/finalizers', value: ['other'] },
        { op: 'add', path: '/metadata/finalizers/-', value: 'evacuator.dev/vm-steering' },
      ]);
      expect(rest.calls[1]!.options.body).to.deep.equal([
        { op: 'test', path: '/metadata/finalizers/1', value: 'mine' },
        { op: 'remove', path: '/metadata/finalizers/1' },
      ]);
    });

    it('should make no call when there is nothing to change', async () => {
      const rest = fakeRest();
      await applyAction(rest, evacuation, { type: 'AddFinalizer', finalizer: 'other' });
      await applyAction(rest, evacuation, { type: 'RemoveFinalizer', finalizer: 'absent' });
      expect(rest.calls).to.deep.equal([]);
    });
  });
});
