// Reads coordination.k8s.io/v1 Leases for the leader-election specs (which install the operator's CRD
// with evacuator.ts's installCrd: its informers cannot sync without it, and it campaigns only once they have).
import { CoordinationV1Api } from '@kubernetes/client-node';
import { eventually, kc } from './kube.ts';

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
