// Deleting an evacuation, or its whole namespace, in the worst moment: the operator has deleted the
// old standalone VMI and died before it created the new one, so the instance lives only in the
// evacuation's snapshot. Terminating must have been recorded before that deletion, so that deleting
// the evacuation does not lose the instance (the rebuild is finished first); deleting the namespace
// must not hang on the snapshot finalizer (nothing can be rebuilt there).
import { expect } from 'chai';
import { FINALIZER_SNAPSHOT, LABEL_ORIGINAL_UID, Phase } from '../../../src/api/v1alpha1/constants.ts';
import { killOnLog } from '../../support/crash.ts';
import { createEvacuation, evacuationManifest, readEvacuation } from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { core, createNamespace, deleteNamespace, eventually, objects } from '../../support/kube.ts';
import { readVmi, vmiManifest, waitForRunningVmi } from '../../support/kubevirt.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';

describe('InstanceEvacuation deleted while its instance exists only in the snapshot', function () {
  this.timeout(300_000);
  const operators: OperatorProcess[] = [];
  const namespaces: string[] = [];

  /**
   * A standalone VMI on a healthy node, an evacuation of it (allowLiveSource), the operator SIGKILLed
   * as it deletes the old VMI, and that deletion made sure of: the old VMI is gone, the evacuation
   * says Terminating and holds the snapshot. Resolves with the namespace and the old VMI's uid.
   */
  async function crashAfterOldVmiDeleted(prefix: string): Promise<{ namespace: string; oldUid: string }> {
    const namespace = await createNamespace(prefix);
    namespaces.push(namespace);
    await objects.create(vmiManifest(namespace, 'app'));
    const oldUid = (await waitForRunningVmi(namespace, 'app')).metadata!.uid!;
    const operator = await startOperator(`${prefix}-crashing`);
    operators.push(operator);
    await createEvacuation(namespace, 'app-evac', { vmiName: 'app', allowLiveSource: true });
    const line = await killOnLog(operator, 'applying', { action: 'DeleteVmi', key: `${namespace}/app-evac` });
    // The phase the operator decided on when it deleted: recorded before, whenever the SIGKILL landed.
    expect(line.phase, 'Terminating recorded before the old VMI was deleted').to.equal(Phase.Terminating);
    // The SIGKILL may land before the request leaves: delete it as the operator was about to.
    await objects
      .delete(vmiManifest(namespace, 'app'), undefined, undefined, undefined, undefined, undefined, {
        preconditions: { uid: oldUid },
      })
      .catch((error: { code?: number }) => {
        if (error.code !== 404 && error.code !== 409) throw error;
      });
    await eventually('the old VMI to be gone', async () =>
      (await readVmi(namespace, 'app')) === undefined ? true : undefined,
    );
    const evacuation = (await readEvacuation(namespace, 'app-evac'))!;
    expect(evacuation.status?.phase).to.equal(Phase.Terminating);
    expect(evacuation.status?.snapshot?.metadata.uid).to.equal(oldUid);
    expect(evacuation.metadata.finalizers).to.include(FINALIZER_SNAPSHOT);
    return { namespace, oldUid };
  }

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const o of operators.slice(-2)) console.log(o.tail(40));
    // One operator at a time: a live one would act on the next test's evacuation too.
    for (const operator of operators) operator.kill('SIGKILL');
    await Promise.all(operators.map((o) => o.exited));
  });

  after(async function () {
    for (const namespace of namespaces) await deleteNamespace(namespace);
  });

  it('should rebuild the instance before letting a deleted evacuation go', async function () {
    const { namespace, oldUid } = await crashAfterOldVmiDeleted('e2e-evac-delete');
    await objects.delete(evacuationManifest(namespace, 'app-evac', { vmiName: 'app' }));
    operators.push(await startOperator('e2e-evac-delete-restarted'));
    const vmi = await waitForRunningVmi(namespace, 'app', { notUid: oldUid });
    expect(vmi.metadata?.labels?.[LABEL_ORIGINAL_UID]).to.equal(oldUid);
    await eventually('the deleted evacuation to be gone once the instance is rebuilt', async () =>
      (await readEvacuation(namespace, 'app-evac')) === undefined ? true : undefined,
    );
  });

  it('should not hold up the deletion of its namespace, where nothing can be rebuilt', async function () {
    const { namespace } = await crashAfterOldVmiDeleted('e2e-evac-ns-delete');
    await deleteNamespace(namespace);
    operators.push(await startOperator('e2e-evac-ns-delete-restarted'));
    await eventually(
      `namespace ${namespace} to be gone`,
      async () =>
        (await core.readNamespace({ name: namespace }).catch(() => undefined)) === undefined
          ? true
          : undefined,
      90_000,
    );
  });
});
