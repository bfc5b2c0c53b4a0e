// InstanceEvacuations as the specs create and watch them.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { InstanceEvacuation, InstanceEvacuationSpecInput } from '../../src/api/v1alpha1/types.ts';
import { eventually, GiveUp, objects, readOrUndefined } from './kube.ts';

export function evacuationManifest(
  namespace: string,
  name: string,
  spec: InstanceEvacuationSpecInput,
): KubernetesObject {
  return {
    apiVersion: 'evacuator.dev/v1alpha1',
    kind: 'InstanceEvacuation',
    metadata: { name, namespace },
    spec,
  } as KubernetesObject;
}

export async function createEvacuation(
  namespace: string,
  name: string,
  spec: InstanceEvacuationSpecInput,
): Promise<void> {
  await objects.create(evacuationManifest(namespace, name, spec));
}

export function readEvacuation(namespace: string, name: string): Promise<InstanceEvacuation | undefined> {
  return readOrUndefined(evacuationManifest(namespace, name, { vmiName: 'x' })) as Promise<
    InstanceEvacuation | undefined
  >;
}

export function conditionsText(evacuation: InstanceEvacuation | undefined): string {
  return (evacuation?.status?.conditions ?? [])
    .map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`)
    .join('\n  ');
}

export function condition(evacuation: InstanceEvacuation | undefined, type: string) {
  return evacuation?.status?.conditions?.find((c) => c.type === type);
}

/** Waits for the phase; fails at once (with the conditions) if the evacuation ends in another terminal phase. */
export async function waitForPhase(
  namespace: string,
  name: string,
  phase: string,
  timeoutMs = 90_000,
): Promise<InstanceEvacuation> {
  let last: InstanceEvacuation | undefined;
  try {
    return await eventually(
      `InstanceEvacuation ${namespace}/${name} in phase ${phase}`,
      async () => {
        last = await readEvacuation(namespace, name);
        const current = last?.status?.phase;
        if (current === phase) return last;
        if ((current === 'Failed' || current === 'Completed') && current !== phase)
          throw new GiveUp(`ended ${current} instead:\n  ${conditionsText(last)}`);
        return undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n  last status: phase ${last?.status?.phase}\n  ${conditionsText(last)}`,
    );
  }
}
