// The bed survives its API server going away: components reconnect and work goes on.
import { expect } from 'chai';
import {
  core,
  createNamespace,
  deleteNamespace,
  eventually,
  objects,
  testCluster,
} from '../../support/kube.ts';
import { vmManifest, waitForRunningVmi } from '../../support/kubevirt.ts';

describe('The bed’s API server restarted', function () {
  this.timeout(240_000);
  let namespace: string;

  after(async function () {
    if (namespace) await deleteNamespace(namespace);
  });

  it('should come back, and KubeVirt should still run new VMs', async function () {
    await testCluster.faults.restartApiServer();
    const nodes = await eventually('the API server to list nodes', async () => (await core.listNode()).items);
    expect(nodes.length).to.be.greaterThan(0);
    namespace = await createNamespace('e2e-restart');
    await objects.create(vmManifest(namespace, 'after-restart', 'Always'));
    await waitForRunningVmi(namespace, 'after-restart', { timeoutMs: 120_000 });
  });
});
