// Node conditions and taints as the e2e specs read and set them.
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { core } from './kube.ts';

export const unreachableTaint = 'node.kubernetes.io/unreachable';
export const outOfServiceTaint: V1Taint = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
};

export function readyStatus(node: V1Node): string | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

export async function setTaints(name: string, edit: (taints: V1Taint[]) => V1Taint[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const node = await core.readNode({ name });
    node.spec = { ...node.spec, taints: edit(node.spec?.taints ?? []) };
    try {
      await core.replaceNode({ name, body: node });
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt > 5) throw error;
    }
  }
}

export const addTaint = (name: string, taint: V1Taint) =>
  setTaints(name, (taints) => [...taints.filter((t) => t.key !== taint.key), taint]);
export const removeTaint = (name: string, key: string) =>
  setTaints(name, (taints) => taints.filter((t) => t.key !== key));
