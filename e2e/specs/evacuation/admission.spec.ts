// The InstanceEvacuation CRD's schema and CEL rules on the real API server: every malformed spec the
// unit tests list is refused at admission with a message naming the field, immutable fields stay
// immutable, and spec.reason stays editable. Only the CRD is needed: no operator, no node failure.
import { expect } from 'chai';
import { ApiException } from '@kubernetes/client-node';
import {
  allowedSpecUpdates,
  immutableSpecUpdates,
  malformedSpecs,
} from '../../../src/api/v1alpha1/malformed-specs.ts';
import type { InstanceEvacuation } from '../../../src/api/v1alpha1/types.ts';
import { HttpMethod, kubeRestClient } from '../../../src/runtime/rest.ts';
import { createNamespace, deleteNamespace, kc } from '../../support/kube.ts';
import { evacuationManifest } from '../../support/evacuation.ts';
import { installOperator } from '../../support/evacuator.ts';

const rest = kubeRestClient(kc);
const collection = (namespace: string) =>
  `/apis/evacuator.dev/v1alpha1/namespaces/${namespace}/instanceevacuations`;

/** Creates the evacuation as raw JSON (client-node's typed serializer would drop unknown shapes). */
function create(namespace: string, name: string, spec: Record<string, unknown>): Promise<InstanceEvacuation> {
  return rest.request<InstanceEvacuation>(HttpMethod.POST, collection(namespace), {
    body: evacuationManifest(namespace, name, spec as never),
  });
}

/** Replaces the whole spec with a JSON patch (no resourceVersion: an operator's status write cannot conflict). */
function replaceSpec(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<InstanceEvacuation> {
  return rest.request<InstanceEvacuation>(HttpMethod.PATCH, `${collection(namespace)}/${name}`, {
    body: [{ op: 'replace', path: '/spec', value: spec }],
    contentType: 'application/json-patch+json',
  });
}

function read(namespace: string, name: string): Promise<InstanceEvacuation> {
  return rest.request<InstanceEvacuation>(HttpMethod.GET, `${collection(namespace)}/${name}`);
}

/** Runs `call`, expects the API server to refuse it as Invalid (422), and returns its message. */
async function refusal(call: () => Promise<unknown>): Promise<string> {
  let stored: unknown;
  try {
    stored = await call();
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const status = error.body as { code?: number; reason?: string; message?: string };
    expect(error.code, `HTTP status (${status.message})`).to.equal(422);
    expect(status.reason).to.equal('Invalid');
    return status.message ?? '';
  }
  throw new Error(`expected a 422 Invalid, but the API server accepted it: ${JSON.stringify(stored)}`);
}

describe('InstanceEvacuation admission', function () {
  this.timeout(60_000);
  let namespace: string;

  before(async function () {
    await installOperator();
    namespace = await createNamespace('e2e-evac-admission');
  });

  after(async function () {
    if (namespace) await deleteNamespace(namespace);
  });

  context('when the spec is well formed', function () {
    it('should accept it and default allowLiveSource to false', async function () {
      const created = await create(namespace, 'good', { vmiName: 'vm-1', targetNode: 'bed-node-2' });
      expect(created.spec).to.deep.equal({
        vmiName: 'vm-1',
        targetNode: 'bed-node-2',
        allowLiveSource: false,
      });
    });
  });

  context('when the spec is malformed', function () {
    malformedSpecs.forEach((malformed, i) => {
      it(`should refuse ${malformed.name}, naming ${malformed.expectFieldInMessage}`, async function () {
        const message = await refusal(() => create(namespace, `malformed-${i}`, malformed.spec));
        expect(message).to.include(malformed.expectFieldInMessage);
      });
    });
  });

  context('when an immutable field of an existing evacuation is changed', function () {
    immutableSpecUpdates.forEach((update, i) => {
      it(`should refuse ${update.name}, naming ${update.expectFieldInMessage}, and keep the spec`, async function () {
        const name = `immutable-${i}`;
        const created = await create(namespace, name, update.initial);
        const message = await refusal(() => replaceSpec(namespace, name, update.update));
        expect(message).to.include(update.expectFieldInMessage);
        expect((await read(namespace, name)).spec).to.deep.equal(created.spec);
      });
    });
  });

  context('when a mutable field of an existing evacuation is changed', function () {
    allowedSpecUpdates.forEach((update, i) => {
      it(`should accept ${update.name}`, async function () {
        const name = `mutable-${i}`;
        await create(namespace, name, update.initial);
        await replaceSpec(namespace, name, update.update);
        expect((await read(namespace, name)).spec).to.deep.equal({
          allowLiveSource: false,
          ...update.update,
        });
      });
    });
  });
});
