// A failure domain for the evacuation specs: several instances placed on one node, that node failed
// and fenced (out-of-service taint or the evacuator.dev/fenced annotation), and everything undone in
// after() so that the next spec file finds every node Ready, schedulable, untainted and unannotated.
import type { V1Node } from '@kubernetes/client-node';
import { ANNOTATION_FENCED } from '../../src/api/v1alpha1/constants.ts';
import { core, eventually, testCluster } from './kube.ts';
import { outOfServiceTaint, readyStatus, removeTaint } from './nodes.ts';

/** Reads, edits and replaces a Node, retrying on conflicts (the node agent writes it too). */
export async function editNode(name: string, edit: (node: V1Node) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const node = await core.readNode({ name });
    edit(node);
    try {
      await core.replaceNode({ name, body: node });
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt > 10) throw error;
    }
  }
}

export const setUnschedulable = (name: string, unschedulable: boolean) =>
  editNode(name, (node) => {
    node.spec = { ...node.spec, unschedulable };
  });

/** Nova's force-down: the admin confirms the node is off (evacuator.dev/fenced=true), or withdraws it. */
export const setFencedAnnotation = (name: string, fenced: boolean) =>
  editNode(name, (node) => {
    node.metadata = { ...node.metadata, annotations: withoutFenced(node) };
    if (fenced) node.metadata.annotations![ANNOTATION_FENCED] = 'true';
  });

function withoutFenced(node: V1Node): Record<string, string> {
  return Object.fromEntries(
    Object.entries(node.metadata?.annotations ?? {}).filter(([k]) => k !== ANNOTATION_FENCED),
  );
}

export async function nodeNames(): Promise<string[]> {
  return (await core.listNode()).items.map((n) => n.metadata!.name!).sort();
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

export async function waitNotReady(name: string, timeoutMs = 120_000): Promise<void> {
  await eventually(
    `${name} NotReady`,
    async () => (readyStatus(await core.readNode({ name })) !== 'True' ? true : undefined),
    timeoutMs,
  );
}

/** The machine dies (its kubelet and node agent with it); returns once the control plane noticed. */
export async function failNode(name: string): Promise<void> {
  await testCluster.faults.failNode(name);
  await waitNotReady(name);
}

/**
 * Undoes everything a spec may have done to a node: the out-of-service taint, the fenced annotation,
 * a cordon; then the machine comes back. Safe to call on a healthy node.
 */
export async function restoreNode(name: string): Promise<void> {
  await removeTaint(name, outOfServiceTaint.key);
  await editNode(name, (node) => {
    node.metadata = { ...node.metadata, annotations: withoutFenced(node) };
    node.spec = { ...node.spec, unschedulable: false };
  });
  await testCluster.faults.recoverNode(name);
}
