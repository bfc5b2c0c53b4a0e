// Reads coordination.k8s.io/v1 Leases for the leader-election specs, and installs the operator's CRD
// (the operator's informers cannot sync without it, and it campaigns only once they have).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoordinationV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { HttpMethod, kubeRestClient } from '../../src/runtime/rest.ts';
import { repoRoot } from '../bed/layout.ts';
import { eventually, kc, objects } from './kube.ts';

const coordination = kc.makeApiClient(CoordinationV1Api);

export interface LeaseState {
  holder: string;
  durationSeconds: number;
  /** Epoch ms (the lease times are MicroTime strings written on the holder's clock). */
  acquireTime: number | undefined;
  renewTime: number | undefined;
  transitions: number;
}

/** The Lease's spec, or undefined while it does not exist. */
export async function readLease(namespace: string, name: string): Promise<LeaseState | undefined> {
  try {
    const lease = await coordination.readNamespacedLease({ namespace, name });
    const time = (t: unknown) =>
      t === undefined || t === null ? undefined : new Date(t as string).getTime();
    return {
      holder: lease.spec?.holderIdentity ?? '',
      durationSeconds: lease.spec?.leaseDurationSeconds ?? 0,
      acquireTime: time(lease.spec?.acquireTime),
      renewTime: time(lease.spec?.renewTime),
      transitions: lease.spec?.leaseTransitions ?? 0,
    };
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Waits until the Lease satisfies `check` and returns it. */
export function waitForLease(
  namespace: string,
  name: string,
  what: string,
  check: (lease: LeaseState) => boolean,
  timeoutMs = 30_000,
): Promise<LeaseState> {
  return eventually(
    `Lease ${namespace}/${name}: ${what}`,
    async () => {
      const lease = await readLease(namespace, name);
      return lease && check(lease) ? lease : undefined;
    },
    timeoutMs,
    100,
  );
}

const crdName = 'instanceevacuations.evacuator.dev';
let crdInstalled: Promise<void> | undefined;

/** Server-side applies the InstanceEvacuation CRD from crds/ (raw JSON, as written) and waits for Established. */
export function installCrd(): Promise<void> {
  crdInstalled ??= (async () => {
    const crd = load(
      readFileSync(join(repoRoot, 'crds', 'evacuator.dev_instanceevacuations.yaml'), 'utf8'),
    ) as KubernetesObject;
    await kubeRestClient(kc).request(
      HttpMethod.PATCH,
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName}`,
      {
        query: { fieldManager: 'evacuator-e2e', force: true },
        body: crd,
        contentType: 'application/apply-patch+yaml',
      },
    );
    await eventually('the InstanceEvacuation CRD to be Established', async () => {
      const read = (await objects.read({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: crdName },
      })) as { status?: { conditions?: { type: string; status: string }[] } };
      return read.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
        ? true
        : undefined;
    });
  })();
  return crdInstalled;
}
