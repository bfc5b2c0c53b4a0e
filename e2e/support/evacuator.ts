// The operator under test, as a user installs it: its CRD and the RBAC in deploy/, and the process
// running as its own ServiceAccount (a token kubeconfig), so a missing RBAC rule fails the specs. The
// CRD alone serves the specs that run the operator some other way (its informers cannot sync without it).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAll } from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';
import { CRD_NAME } from '../../src/api/v1alpha1/constants.ts';
import { CRD_FILE } from '../../src/api/v1alpha1/crd.ts';
import { HttpMethod, kubeRestClient } from '../../src/runtime/rest.ts';
import { repoRoot } from '../bed/layout.ts';
import { core, eventually, kc, objects, testCluster } from './kube.ts';
import { OperatorProcess } from './operator-process.ts';

export const operatorNamespace = 'kubevirt-evacuator';
export const operatorServiceAccount = 'kubevirt-evacuator';
const rest = kubeRestClient(kc);

function manifests(file: string): KubernetesObject[] {
  return loadAll(readFileSync(join(repoRoot, file), 'utf8')).filter(Boolean) as KubernetesObject[];
}

/** Where each kind of deploy/'s manifests lives in the API. */
const collections: Record<string, (namespace?: string) => string> = {
  CustomResourceDefinition: () => '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  Namespace: () => '/api/v1/namespaces',
  ServiceAccount: (ns) => `/api/v1/namespaces/${ns}/serviceaccounts`,
  ClusterRole: () => '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: () => '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
  Role: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`,
  RoleBinding: (ns) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`,
};

/**
 * Server-side apply of the manifest as raw JSON. (client-node's typed serializer drops keys such as
 * x-kubernetes-preserve-unknown-fields from a CRD, which would make the API server prune data.)
 */
async function apply(manifest: KubernetesObject): Promise<void> {
  const collection = collections[manifest.kind!];
  if (!collection) throw new Error(`e2e: no API path known for kind ${manifest.kind}`);
  await rest.request(
    HttpMethod.PATCH,
    `${collection(manifest.metadata?.namespace)}/${manifest.metadata!.name}`,
    {
      query: { fieldManager: 'evacuator-e2e', force: true },
      body: manifest,
      contentType: 'application/apply-patch+yaml',
    },
  );
}

let crdInstalled: Promise<void> | undefined;

/** Applies the InstanceEvacuation CRD from crds/ once per run and waits until it is Established. */
export function installCrd(): Promise<void> {
  crdInstalled ??= (async () => {
    for (const m of manifests(CRD_FILE)) await apply(m);
    await eventually('the InstanceEvacuation CRD to be Established', async () => {
      const crd = (await objects.read({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: CRD_NAME },
      })) as { status?: { conditions?: { type: string; status: string }[] } };
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
        ? true
        : undefined;
    });
  })();
  return crdInstalled;
}

let installed: Promise<string> | undefined;

/** Installs the CRD and deploy/'s namespace and RBAC once per run; returns the operator's kubeconfig. */
export function installOperator(): Promise<string> {
  installed ??= (async () => {
    await installCrd();
    for (const m of [...manifests('deploy/namespace.yaml'), ...manifests('deploy/rbac.yaml')]) await apply(m);
    return serviceAccountKubeconfig();
  })();
  return installed;
}

async function serviceAccountKubeconfig(): Promise<string> {
  const request = await core.createNamespacedServiceAccountToken({
    name: operatorServiceAccount,
    namespace: operatorNamespace,
    body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const cluster = kc.getCurrentCluster()!;
  const ca = cluster.caFile
    ? readFileSync(cluster.caFile, 'utf8')
    : Buffer.from(cluster.caData ?? '', 'base64').toString();
  const file = join(mkdtempSync(join(tmpdir(), 'evacuator-e2e-')), 'operator.kubeconfig');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'e2e',
          cluster: {
            server: cluster.server,
            'certificate-authority-data': Buffer.from(ca).toString('base64'),
          },
        },
      ],
      users: [{ name: operatorServiceAccount, user: { token: request.status!.token } }],
      contexts: [{ name: 'e2e', context: { cluster: 'e2e', user: operatorServiceAccount } }],
      'current-context': 'e2e',
    }),
  );
  return file;
}

/** Starts the operator as its ServiceAccount and waits until its controllers run. */
export async function startOperator(identity: string, args: string[] = []): Promise<OperatorProcess> {
  const kubeconfigPath = await installOperator();
  const operator = new OperatorProcess({
    identity,
    kubeconfigPath,
    // Specs wait 120 s for Completed: the kubelet's cleanup must not take the operator's default 120 s.
    args: ['--workers=4', '--recheck-period=5s', '--cleanup-grace-period=15s', ...args],
  });
  await operator.waitForLog('starting controllers', 60_000);
  return operator;
}

export { testCluster };
