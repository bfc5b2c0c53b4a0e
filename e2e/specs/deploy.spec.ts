// What the README tells users to install: `kubectl apply -k deploy/` renders and the API server
// accepts every object of it (server-side dry run: nothing is changed).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { paths, repoRoot } from '../bed/layout.ts';
import { installOperator } from '../support/evacuator.ts';
import { testCluster } from '../support/kube.ts';

const kubectl = (args: string[], input?: string) =>
  execFileSync(join(paths.bin, 'kubectl'), ['--kubeconfig', testCluster.kubeconfigPath, ...args], {
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
  });

describe('deploy/ (kubectl apply -k deploy/)', function () {
  it('should render the CRD, namespace, RBAC and Deployment, all accepted by the API server', async function () {
    // A server-side dry run creates nothing, so namespaced objects need their namespace to exist.
    await installOperator();
    const rendered = kubectl(['kustomize', join(repoRoot, 'deploy')]);
    const kinds = [...rendered.matchAll(/^kind: (\w+)$/gm)].map((m) => m[1]).sort();
    expect(kinds).to.deep.equal([
      'ClusterRole',
      'ClusterRoleBinding',
      'CustomResourceDefinition',
      'Deployment',
      'Namespace',
      'Role',
      'RoleBinding',
      'ServiceAccount',
    ]);
    const applied = kubectl(['apply', '--dry-run=server', '-f', '-'], rendered);
    expect(applied.trim().split('\n')).to.have.lengthOf(8);
  });
});
