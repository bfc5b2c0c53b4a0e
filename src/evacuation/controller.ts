// The InstanceEvacuation controller: the imperative shell around decide(). It observes (synced
// caches only), calls the pure core, applies the plan's actions in order, writes the status once,
// records events, and requeues at the plan's deadline. All judgement lives in decide().
import { Phase, TERMINAL_PHASES } from '../api/v1alpha1/constants.ts';
import { InstanceEvacuationSchema, type InstanceEvacuation } from '../api/v1alpha1/types.ts';
import { LABEL_APP, LAUNCHER_APP, vmOwner } from '../kubevirt/predicates.ts';
import {
  NamespaceSchema,
  NodeSchema,
  PodSchema,
  PvcSchema,
  VmSchema,
  VmiSchema,
  VolumeAttachmentSchema,
  type Node,
  type Vm,
  type VolumeAttachment,
} from '../kubevirt/schemas.ts';
import type { Clock } from '../runtime/clock.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/controller.ts';
import { isConflict, isNotFound, outcomeUnknown } from '../runtime/errors.ts';
import { KeyedMutex } from '../runtime/keyed-mutex.ts';
import type { Manager } from '../runtime/manager.ts';
import { OwnWrites } from '../runtime/own-writes.ts';
import { indexers, objectKey, splitKey } from '../runtime/store.ts';
import { writesEvacuation } from './actions.ts';
import { applyAction, writeStatus } from './apply-action.ts';
import { decide, statusEqual } from './decide.ts';
import {
  EvacuationIndex,
  evacuationIndexers,
  evacuationsOfDeletingNamespace,
  evacuationsOfLauncherPod,
  evacuationsOfNode,
  evacuationsOfVm,
  evacuationsOfVmi,
  nodeChangeMatters,
} from './mappers.ts';
import { EvacuationMetrics } from './metrics.ts';
import type { DecideConfig, Observed } from './observed.ts';
import { resources } from './resources.ts';

export const CONTROLLER_NAME = 'instanceevacuation';

export interface EvacuationControllerOptions {
  decide: DecideConfig;
  workers: number;
  clock?: Clock;
}

const byNodeName = (va: VolumeAttachment) => [va.spec.nodeName];

export function registerEvacuationController(manager: Manager, options: EvacuationControllerOptions): void {
  const evacuations = manager.informer(resources.evacuations, {
    schema: InstanceEvacuationSchema,
    indexers: { ...evacuationIndexers, namespace: indexers.namespace },
  });
  const vmis = manager.informer(resources.vmis, { schema: VmiSchema });
  const vms = manager.informer(resources.vms, { schema: VmSchema });
  const launcherPods = manager.informer(resources.pods, {
    schema: PodSchema,
    labelSelector: `${LABEL_APP}=${LAUNCHER_APP}`,
    indexers: { namespace: indexers.namespace },
  });
  const nodes = manager.informer(resources.nodes, { schema: NodeSchema });
  const namespaces = manager.informer(resources.namespaces, { schema: NamespaceSchema });
  const pvcs = manager.informer(resources.pvcs, {
    schema: PvcSchema,
    indexers: { namespace: indexers.namespace },
  });
  const volumeAttachments = manager.informer(resources.volumeAttachments, {
    schema: VolumeAttachmentSchema,
    indexers: { byNodeName },
  });
  const metrics = new EvacuationMetrics(manager.metrics.registry, () => evacuations.list());
  const now = () => new Date(options.clock?.now() ?? Date.now());

  const ownWrites = new OwnWrites<InstanceEvacuation>();
  // Evacuations of one VMI are decided one at a time, each on a view that holds the writes of the
  // previous one: two workers (or one cache that lags its own writes) must never let two of them act.
  const perVmi = new KeyedMutex();

  /** The other evacuations of the same VMI. */
  const siblingsOf = (evacuation: InstanceEvacuation) =>
    evacuations
      .byIndex(EvacuationIndex.byVmi, `${evacuation.metadata.namespace}/${evacuation.spec.vmiName}`)
      .filter((e) => e.metadata.name !== evacuation.metadata.name);

  function observe(evacuation: InstanceEvacuation): Observed {
    const namespace = evacuation.metadata.namespace ?? '';
    const vmi = vmis.getByName(namespace, evacuation.spec.vmiName);
    const vmName = evacuation.status?.vmName ?? (vmi ? vmOwner(vmi)?.name : undefined);
    const sourceName = evacuation.status?.sourceNode ?? vmi?.status?.nodeName;
    const targetName = evacuation.spec.targetNode;
    return {
      evacuation,
      // Whether this one may start depends on its siblings (the duplicate guard, retry adoption):
      // on what we last wrote to them, even where the cache does not show it yet.
      siblings: siblingsOf(evacuation).map(
        (sibling) => ownWrites.latest(objectKey(sibling), sibling) ?? sibling,
      ),
      vmi,
      vm: vmName ? (vms.getByName(namespace, vmName) as Vm | undefined) : undefined,
      sourceNode: sourceName ? (nodes.getByName(undefined, sourceName) as Node | undefined) : undefined,
      targetNode: targetName ? (nodes.getByName(undefined, targetName) as Node | undefined) : undefined,
      launcherPods: launcherPods.byIndex('namespace', namespace),
      pvcs: pvcs.byIndex('namespace', namespace),
      volumeAttachments: sourceName ? volumeAttachments.byIndex('byNodeName', sourceName) : [],
      namespaceDeleting: namespaces.getByName(undefined, namespace)?.metadata.deletionTimestamp !== undefined,
    };
  }

  async function reconcile(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const vmiName = evacuations.getByName(namespace, name)?.spec.vmiName;
    if (vmiName === undefined) {
      ownWrites.cacheBehind(key, undefined);
      return {};
    }
    return perVmi.run(`${namespace}/${vmiName}`, () => reconcileInTurn(key, ctx));
  }

  async function reconcileInTurn(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = evacuations.getByName(namespace, name);
    if (cached === undefined) {
      ownWrites.cacheBehind(key, undefined);
      return {};
    }
    // Deciding on a version our last write replaced would repeat that step: wait for the watch.
    if (ownWrites.cacheBehind(key, cached)) {
      ctx.logger.debug('cache has not seen our last write yet');
      return { requeueAfterMs: 1000 };
    }
    // Whether this one may start depends on its siblings: not while one of them got a write of ours
    // with no clear answer that the cache does not show yet (it may have started it).
    const unsettled = startsOnSiblings(cached)
      ? siblingsOf(cached).find((e) => ownWrites.latest(objectKey(e), e) === undefined)
      : undefined;
    if (unsettled !== undefined) {
      ctx.logger.debug('a sibling got a write with no clear answer', { sibling: unsettled.metadata.name });
      return { requeueAfterMs: SIBLING_RECHECK_MS };
    }
    const observed = observe(cached);
    const at = now();
    const plan = decide(observed, at, options.decide);
    const log = ctx.logger.child({
      vmi: cached.spec.vmiName,
      phase: cached.status?.phase ?? 'Pending',
      next: plan.phase,
    });

    let current = cached;
    const replaced = [cached];
    let statusWritten = false;
    /** Whether the request in flight writes the evacuation itself. */
    let writingEvacuation = false;
    try {
      for (const action of plan.actions) {
        log.info('applying', { action: action.type, ...actionFields(action) });
        writingEvacuation = writesEvacuation(action);
        const outcome = await applyAction(manager.rest, current, action);
        writingEvacuation = false;
        if (outcome.evacuation) {
          if (current !== cached) replaced.push(current);
          current = outcome.evacuation;
        }
        if (action.type === 'PersistSnapshot') statusWritten = true;
      }
      if (!statusWritten && !statusEqual(plan.status, cached.status ?? {})) {
        writingEvacuation = true;
        const written = await writeStatus(manager.rest, current, plan.status);
        writingEvacuation = false;
        if (current !== cached) replaced.push(current);
        current = written;
        statusWritten = true;
      }
    } catch (err) {
      // Also after a failure half way: a write that went through must be seen before deciding again;
      // one that may have gone through makes siblings wait for the cache to tell.
      if (writingEvacuation && outcomeUnknown(err)) ownWrites.wroteUncertain(key, [...replaced, current]);
      else if (current !== cached) ownWrites.wrote(key, replaced, current);
      // Our last finalizer went and the deleted evacuation with it: nothing left to write.
      if (isNotFound(err) && cached.metadata.deletionTimestamp !== undefined) return {};
      // A conflict means our view was stale: decide again from fresh observations.
      if (isConflict(err)) {
        log.debug('conflict, deciding again', { err: String(err) });
        return { requeue: true };
      }
      throw err;
    }
    if (current !== cached) ownWrites.wrote(key, replaced, current);
    if (statusWritten) metrics.observeTransition(cached.status, plan.status);
    for (const event of plan.events) {
      manager.recorder.record(current, event.type, event.reason, plan.phase, event.message, observed.vmi);
      if (observed.vmi)
        manager.recorder.record(
          observed.vmi,
          event.type,
          event.reason,
          'Evacuate',
          `${name}: ${event.message}`,
          current,
        );
    }
    if (plan.requeueAt === undefined || TERMINAL_PHASES.includes(plan.phase)) return {};
    return { requeueAfterMs: Math.max(0, plan.requeueAt.getTime() - at.getTime()) };
  }

  const controller = manager.addController({
    name: CONTROLLER_NAME,
    reconcile,
    workers: options.workers,
    informers: [evacuations, vmis, vms, launcherPods, nodes, namespaces, pvcs, volumeAttachments],
  });
  // Our own status writes come back through the watch and trigger the next step: that is how a
  // step observes what the previous one persisted.
  controller.watch(evacuations);
  controller.watch(vmis, (vmi) => evacuationsOfVmi(evacuations, vmi.metadata.namespace, vmi.metadata.name));
  controller.watch(vms, (vm) => evacuationsOfVm(evacuations, vm.metadata.namespace, vm.metadata.name));
  controller.watch(launcherPods, (pod) => evacuationsOfLauncherPod(evacuations, pod));
  controller.watch(nodes, (node) => evacuationsOfNode(evacuations, node.metadata.name), {
    updateFilter: nodeChangeMatters,
  });
  controller.watch(volumeAttachments, (va) => evacuationsOfNode(evacuations, va.spec.nodeName));
  controller.watch(namespaces, (ns) => evacuationsOfDeletingNamespace(evacuations, ns));
  controller.watch(pvcs, (pvc) =>
    evacuations
      .byIndex('namespace', pvc.metadata.namespace ?? '')
      .map((e) => `${e.metadata.namespace}/${e.metadata.name}`),
  );
}

/** How soon an evacuation waiting for the cache to settle a sibling's uncertain write looks again. */
const SIBLING_RECHECK_MS = 200;

/** Whether decide() looks at the siblings of this evacuation: only before it has started. */
function startsOnSiblings(evacuation: InstanceEvacuation): boolean {
  return (
    (evacuation.status?.phase ?? Phase.Pending) === Phase.Pending && evacuation.status?.snapshot === undefined
  );
}

/** What to log of an action: its target, not its payload (the VMI name is on every line already). */
function actionFields(action: { type: string } & Record<string, unknown>): Record<string, unknown> {
  const { type: _type, status: _status, patch, vmi: _vmi, ...rest } = action;
  return { ...rest, ...(patch ? { patchOps: (patch as unknown[]).length } : {}) };
}
