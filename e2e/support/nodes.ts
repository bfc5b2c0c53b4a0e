// Nodes as the e2e specs read them and the states they put them in (failed, fenced, deleted, cordoned,
// labelled, tainted), and the one call that undoes all of them, so that every spec leaves its nodes
// Ready, schedulable, untainted and unannotated for the next.
import type { V1Node, V1Taint } from '@kubernetes/client-node';
import { ANNOTATION_FENCED } from '../../src/api/v1alpha1/constants.ts';
import { HttpMethod, kubeRestClient } from '../../src/runtime/rest.ts';
import { core, eventually, kc, testCluster } from './kube.ts';

export const unreachableTaint = 'node.kubernetes.io/unreachable';
const notReadyTaint = 'node.kubernetes.io/not-ready';
/** The taints the node lifecycle controller puts on a node that is not Ready, and removes once it is. */
const lifecycleTaints = [unreachableTaint, notReadyTaint];

export const outOfServiceTaint: V1Taint = {
  key: 'node.kubernetes.io/out-of-service',
  value: 'nodeshutdown',
  effect: 'NoExecute',
};

const rest = kubeRestClient(kc);

export function readyStatus(node: V1Node): string | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

/** The names of all nodes, sorted. */
export async function nodeNames(): Promise<string[]> {
  return (await core.listNode()).items.map((n) => n.metadata!.name!).sort();
}

/** The names of the Ready nodes, sorted. */
export async function readyNodes(): Promise<string[]> {
  return (await core.listNode()).items
    .filter((n) => readyStatus(n) === 'True')
    .map((n) => n.metadata!.name!)
    .sort();
}

async function nodeExists(name: string): Promise<boolean> {
  return core.readNode({ name }).then(
    () => true,
    (error: { code?: number }) => {
      if (error.code === 404) return false;
      throw error;
    },
  );
}

/** A JSON merge patch of the Node: for labels, annotations and spec.unschedulable (null removes). */
async function patchNode(name: string, patch: Record<string, unknown>): Promise<void> {
  await rest.request(HttpMethod.PATCH, `/api/v1/nodes/${name}`, {
    body: patch,
    contentType: 'application/merge-patch+json',
  });
}

/**
 * Reads, edits and replaces the node's taints, retrying on conflicts (the node lifecycle controller
 * writes them too, and a merge patch would replace the whole list).
 */
async function setTaints(name: string, edit: (taints: V1Taint[]) => V1Taint[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const node = await core.readNode({ name });
    node.spec = { ...node.spec, taints: edit(node.spec?.taints ?? []) };
    try {
      await core.replaceNode({ name, body: node });
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt > 10) throw error;
    }
  }
}

export const addTaint = (name: string, taint: V1Taint) =>
  setTaints(name, (taints) => [...taints.filter((t) => t.key !== taint.key), taint]);
export const removeTaint = (name: string, key: string) =>
  setTaints(name, (taints) => taints.filter((t) => t.key !== key));

/** The machine dies (its kubelet and node agent with it); returns once the control plane noticed. */
export async function failNodeAndWaitNotReady(name: string, timeoutMs = 120_000): Promise<void> {
  await testCluster.faults.failNode(name);
  await eventually(
    `${name} not Ready`,
    async () => (readyStatus(await core.readNode({ name })) !== 'True' ? true : undefined),
    timeoutMs,
  );
}

/** `evacuator.dev/fenced=true` on the node: the admin confirms it is powered off (Nova's force-down). */
export const annotateFenced = (name: string) =>
  patchNode(name, { metadata: { annotations: { [ANNOTATION_FENCED]: 'true' } } });

/** Sets the label, or removes it (null). */
export const setNodeLabel = (name: string, key: string, value: string | null) =>
  patchNode(name, { metadata: { labels: { [key]: value } } });

/** Cordons the node, or uncordons it. */
export const setUnschedulable = (name: string, unschedulable: boolean) =>
  patchNode(name, { spec: { unschedulable: unschedulable ? true : null } });

/** Deletes the Node object and waits until it is gone. */
export async function deleteNode(name: string): Promise<void> {
  await core.deleteNode({ name });
  await eventually(`Node ${name} gone`, async () => ((await nodeExists(name)) ? undefined : true), 30_000);
}

/**
 * Runs `place` (which creates instances and waits for them to run) with every node but `node`
 * cordoned, so the scheduler has one choice; uncordons them afterwards whatever happened.
 */
export async function placeAllOn<T>(node: string, place: () => Promise<T>): Promise<T> {
  const others = (await nodeNames()).filter((n) => n !== node);
  try {
    for (const n of others) await setUnschedulable(n, true);
    return await place();
  } finally {
    for (const n of others) await setUnschedulable(n, false);
  }
}

/**
 * Undoes everything the specs do to a node: removes the given labels, the fenced annotation, the
 * cordon and the out-of-service taint (labels first, so that nothing pinned by them lands on the node
 * when it rejoins), brings the machine back (re-creating a deleted Node), and waits until it is Ready
 * and the node lifecycle controller has lifted its not-ready/unreachable taints. Safe on a healthy node.
 */
export async function restoreNode(name: string, labels: string[] = []): Promise<void> {
  if (await nodeExists(name)) {
    await patchNode(name, {
      metadata: {
        annotations: { [ANNOTATION_FENCED]: null },
        labels: Object.fromEntries(labels.map((l) => [l, null])),
      },
      spec: { unschedulable: null },
    });
    await removeTaint(name, outOfServiceTaint.key);
  }
  await testCluster.faults.recoverNode(name);
  await eventually(
    `${name} to be Ready without the node lifecycle controller's taints`,
    async () => {
      const node = await core.readNode({ name });
      const tainted = (node.spec?.taints ?? []).some((t) => lifecycleTaints.includes(t.key));
      return readyStatus(node) === 'True' && !tainted ? true : undefined;
    },
    90_000,
  );
}
