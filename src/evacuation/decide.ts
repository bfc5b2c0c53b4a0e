// decide(observed, now, config) → Plan: the whole InstanceEvacuation state machine as a pure function.
// The controller reads the observed state from synced caches, calls decide(), applies plan.actions in
// order (stopping at the first error), writes plan.status once if it differs from the observed status,
// records plan.events, and requeues at plan.requeueAt.
import {
  ANNOTATION_FENCED,
  ConditionType,
  EventReason,
  FINALIZER_SNAPSHOT,
  FINALIZER_STEERING,
  LABEL_ORIGINAL_UID,
  Phase,
  Reason,
  TAINT_OUT_OF_SERVICE,
  TERMINAL_PHASES,
} from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuation, InstanceEvacuationStatus, Steering } from '../api/v1alpha1/types.ts';
import {
  claimNamesOf,
  isDeleting,
  isFenced,
  launcherPodsOf,
  nodeHealth,
  nodeSchedulable,
  pvNamesOf,
  readySince,
  vmOwner,
  vmRunStrategy,
  vmiIsFinal,
  vmiIsRunning,
  volumeAttachmentsOn,
  type NodeHealth,
} from '../kubevirt/predicates.ts';
import { VmiSpecSchema, type Pod, type Vm, type Vmi } from '../kubevirt/schemas.ts';
import type { Action, PlannedEvent } from './actions.ts';
import { findCondition, formatTime, setCondition, type ConditionStatus } from '../runtime/conditions.ts';
import { DEFAULT_CONFIG, type DecideConfig, type Observed } from './observed.ts';
import { steeringFor, type Refusal } from './overrides.ts';
import { buildRebuiltVmi } from './rebuild-vmi.ts';
import { takeSnapshot } from './snapshot.ts';
import {
  vmHasSteeringLeft,
  vmPatch,
  vmWithOverrides,
  vmWithPinnedMacs,
  vmWithSteering,
  vmWithoutSteering,
} from './vm-patches.ts';

export interface Plan {
  /** The phase after this step (also in status.phase). */
  phase: Phase;
  /** The complete desired status; write it (once) when it differs from the observed one. */
  status: InstanceEvacuationStatus;
  /** Side effects, in order; see actions.ts. */
  actions: Action[];
  /** Reconcile again at this time at the latest (undefined: only on watch events). */
  requeueAt: Date | undefined;
  /** Events to record (on transitions only). */
  events: PlannedEvent[];
}

/** KubeVirt's VM controller writes on each VMI it creates the VM generation it made it from. */
const VM_GENERATION_ANNOTATION = 'kubevirt.io/vm-generation';

/** Whether KubeVirt made this VMI from the VM as we prepared it (or later); false when unknown. */
function madeFromPreparedVm(s: Step, vmi: Vmi): boolean {
  const madeFrom = Number(vmi.metadata.annotations?.[VM_GENERATION_ANNOTATION]);
  const prepared = s.status.vmPreparedGeneration;
  return prepared !== undefined && Number.isInteger(madeFrom) && madeFrom >= prepared;
}

/** Run strategies whose VM controller recreates a failed VMI by itself. */
const SELF_RESTARTING = ['Always', 'RerunOnFailure'];
const SUPPORTED_STRATEGIES = ['Always', 'RerunOnFailure', 'Manual', 'Halted'];
/** Phases that hold the instance: a second evacuation of the same VMI is refused while one is in them. */
const ACTIVE_PHASES: readonly string[] = [Phase.Pending, Phase.Fencing, Phase.Terminating, Phase.Rebuilding];

const PHASE_EVENTS: Partial<Record<Phase, string>> = {
  [Phase.Fencing]: EventReason.AwaitingFencing,
  [Phase.Terminating]: EventReason.TerminatingSource,
  [Phase.Rebuilding]: EventReason.Rebuilding,
  [Phase.Rebuilt]: EventReason.Rebuilt,
  [Phase.Completed]: EventReason.Completed,
  [Phase.Failed]: EventReason.Failed,
};

/** The state of one decision step; each phase function edits it. */
class Step {
  readonly status: InstanceEvacuationStatus;
  readonly actions: Action[] = [];
  readonly events: PlannedEvent[] = [];
  private deadlines: Date[] = [];
  readonly nowText: string;
  readonly generation: number | undefined;
  readonly o: Observed;
  readonly now: Date;
  readonly config: DecideConfig;

  constructor(o: Observed, now: Date, config: DecideConfig) {
    this.o = o;
    this.now = now;
    this.config = config;
    this.status = structuredClone(o.evacuation.status ?? {});
    this.nowText = formatTime(now);
    this.generation = o.evacuation.metadata.generation;
  }

  get phase(): Phase {
    return this.status.phase ?? Phase.Pending;
  }

  cond(type: string, status: ConditionStatus, reason: string, message: string): void {
    this.status.conditions = setCondition(
      this.status.conditions,
      { type, status, reason, message, observedGeneration: this.generation },
      this.now,
    ).conditions;
  }

  enter(phase: Phase): void {
    if (this.status.phase === phase) return;
    this.status.phase = phase;
    this.status.phaseTimestamps = { ...this.status.phaseTimestamps, [phase]: this.nowText };
    const reason = PHASE_EVENTS[phase];
    if (reason !== undefined && phase !== Phase.Failed)
      this.events.push({ type: 'Normal', reason, message: `phase ${phase}` });
  }

  fail(conditionType: string, reason: string, message: string): void {
    this.cond(conditionType, 'False', reason, message);
    this.enter(Phase.Failed);
    const event = conditionType === ConditionType.Accepted ? EventReason.Refused : EventReason.Failed;
    this.events.push({ type: 'Warning', reason: event, message: `${reason}: ${message}` });
  }

  act(a: Action): void {
    this.actions.push(a);
  }

  after(seconds: number, from: Date = this.now): void {
    this.deadlines.push(new Date(from.getTime() + seconds * 1000));
  }

  plan(): Plan {
    this.status.observedGeneration = this.generation;
    if (this.status.phase === undefined) this.enter(Phase.Pending);
    const requeueAt =
      this.deadlines.length === 0 ? undefined : new Date(Math.min(...this.deadlines.map((d) => d.getTime())));
    return { phase: this.phase, status: this.status, actions: this.actions, requeueAt, events: this.events };
  }

  get evac(): InstanceEvacuation {
    return this.o.evacuation;
  }
  get namespace(): string {
    return this.evac.metadata.namespace ?? '';
  }
  get hasFinalizer(): boolean {
    return this.has(FINALIZER_STEERING);
  }
  has(finalizer: string): boolean {
    return this.evac.metadata.finalizers?.includes(finalizer) === true;
  }
}

type VmiClass = 'absent' | 'old' | 'new' | 'foreign';

/** Whose VMI is it: the original (old), the rebuilt one (new), or someone else's (foreign). */
function classify(s: Step): VmiClass {
  const vmi = s.o.vmi;
  if (vmi === undefined) return 'absent';
  const uid = vmi.metadata.uid;
  if (uid === s.status.originalUID) return 'old';
  if (s.status.vmOwned) return vmOwner(vmi)?.uid === s.status.vmUID ? 'new' : 'foreign';
  return vmi.metadata.labels?.[LABEL_ORIGINAL_UID] === s.status.originalUID ? 'new' : 'foreign';
}

const byAge = (a: InstanceEvacuation, b: InstanceEvacuation): number =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
  a.metadata.name.localeCompare(b.metadata.name);

/**
 * Another non-terminal evacuation of the same VMI that wins over this one: one that has started (has a
 * snapshot or left Pending) wins; otherwise the older by creationTimestamp, then name.
 */
function winningSibling(s: Step): InstanceEvacuation | undefined {
  const me = s.evac;
  const started = (e: InstanceEvacuation) =>
    e.status?.snapshot !== undefined || (e.status?.phase !== undefined && e.status.phase !== Phase.Pending);
  return s.o.siblings
    .filter(
      (e) =>
        e.spec.vmiName === me.spec.vmiName &&
        e.metadata.name !== me.metadata.name &&
        ACTIVE_PHASES.includes(e.status?.phase ?? Phase.Pending) &&
        e.metadata.deletionTimestamp === undefined,
    )
    .find((e) => started(e) || byAge(e, me) < 0);
}

function healthText(s: Step, node: string, health: NodeHealth): string {
  if (health === 'Gone') return `node ${node} no longer exists`;
  const ready = s.o.sourceNode?.status?.conditions?.find((c) => c.type === 'Ready');
  const since = ready?.lastTransitionTime ? ` since ${ready.lastTransitionTime}` : '';
  return `node ${node} is Ready=${ready?.status ?? 'Unknown'}${since}`;
}

// ---------------------------------------------------------------- Pending: validate, snapshot

function validateTarget(s: Step, source: string): Refusal | undefined {
  const name = s.evac.spec.targetNode;
  if (name === undefined) return undefined;
  const node = s.o.targetNode;
  if (name === source)
    return {
      ok: false,
      reason: Reason.TargetNodeIsSource,
      message: `spec.targetNode ${name} is the source node`,
    };
  if (node === undefined || node.metadata.name !== name)
    return { ok: false, reason: Reason.TargetNodeNotFound, message: `spec.targetNode ${name}: no such Node` };
  const health = nodeHealth(node);
  if (health !== 'Ready')
    return {
      ok: false,
      reason: Reason.TargetNodeNotReady,
      message: `spec.targetNode ${name} is not Ready (${health})`,
    };
  if (!nodeSchedulable(node))
    return {
      ok: false,
      reason: Reason.TargetNodeUnschedulable,
      message: `spec.targetNode ${name} is cordoned (spec.unschedulable)`,
    };
  return undefined;
}

function decidePending(s: Step): boolean {
  if (s.status.snapshot !== undefined) return route(s);
  const sibling = winningSibling(s);
  if (sibling !== undefined) {
    s.fail(
      ConditionType.Accepted,
      Reason.DuplicateEvacuation,
      `InstanceEvacuation ${sibling.metadata.name} (${sibling.status?.phase ?? Phase.Pending}) already evacuates ` +
        `VMI ${s.evac.spec.vmiName}; nothing was touched`,
    );
    return false;
  }
  const vmi = s.o.vmi;
  const name = s.evac.spec.vmiName;
  const retryFrom = failedStandaloneSibling(s);
  if (vmi === undefined && retryFrom !== undefined) return adoptSnapshot(s, retryFrom);
  if (vmi === undefined) {
    s.fail(
      ConditionType.Accepted,
      Reason.VmiNotFound,
      `VirtualMachineInstance ${name} not found in ${s.namespace}`,
    );
    return false;
  }
  const source = vmi.status?.nodeName;
  if (
    !source &&
    retryFrom !== undefined &&
    vmi.metadata.labels?.[LABEL_ORIGINAL_UID] === retryFrom.status?.originalUID
  ) {
    s.fail(
      ConditionType.Accepted,
      Reason.VmiNotScheduled,
      `VirtualMachineInstance ${name} is the copy InstanceEvacuation ${retryFrom.metadata.name} rebuilt, never scheduled; ` +
        `delete it to retry from that evacuation's snapshot (fix what kept it from scheduling first)`,
    );
    return false;
  }
  if (!source) {
    s.fail(
      ConditionType.Accepted,
      Reason.VmiNotScheduled,
      `VirtualMachineInstance ${name} has no status.nodeName (phase ${vmi.status?.phase ?? 'unset'}): nothing to evacuate`,
    );
    return false;
  }
  const controller = vmi.metadata.ownerReferences?.find((r) => r.controller === true);
  const owner = vmOwner(vmi);
  if (controller !== undefined && owner === undefined) {
    s.fail(
      ConditionType.Accepted,
      Reason.RunStrategyUnsupported,
      `VirtualMachineInstance ${name} is controlled by ${controller.kind} ${controller.name}, which replaces it by itself`,
    );
    return false;
  }
  let strategy: string | undefined;
  if (owner !== undefined) {
    const vm = s.o.vm;
    if (vm === undefined || vm.metadata.uid !== owner.uid) {
      s.fail(
        ConditionType.Accepted,
        Reason.VmNotFound,
        `VirtualMachine ${owner.name} (uid ${owner.uid}) not found`,
      );
      return false;
    }
    strategy = vmRunStrategy(vm);
    if (!SUPPORTED_STRATEGIES.includes(strategy)) {
      s.fail(
        ConditionType.Accepted,
        Reason.RunStrategyUnsupported,
        `VirtualMachine ${vm.metadata.name} has runStrategy ${strategy}; supported: ${SUPPORTED_STRATEGIES.join(', ')}`,
      );
      return false;
    }
    if (strategy === 'Halted' && s.evac.spec.targetNode !== undefined) {
      s.fail(
        ConditionType.Accepted,
        Reason.RunStrategyUnsupported,
        `VirtualMachine ${vm.metadata.name} is Halted and stays stopped after evacuation, so spec.targetNode cannot apply`,
      );
      return false;
    }
    const overridden = vmWithOverrides(vm, s.evac.spec);
    if (!overridden.ok) {
      s.fail(ConditionType.Accepted, overridden.reason, overridden.message);
      return false;
    }
  } else {
    const built = buildRebuiltVmi(takeSnapshot(vmi, s.now), s.evac.spec, source);
    if (!built.ok) {
      s.fail(ConditionType.Accepted, built.reason, built.message);
      return false;
    }
  }
  const health = nodeHealth(s.o.sourceNode);
  if (health === 'Ready' && !s.evac.spec.allowLiveSource) {
    s.fail(
      ConditionType.Accepted,
      Reason.SourceNodeHealthy,
      `source node ${source} is Ready; set spec.allowLiveSource to rebuild anyway (the instance is shut down gracefully); nothing was touched`,
    );
    return false;
  }
  const target = validateTarget(s, source);
  if (target !== undefined) {
    s.fail(ConditionType.Accepted, target.reason, target.message);
    return false;
  }
  // Accepted: persist everything needed to rebuild, and nothing else in this step.
  s.status.sourceNode = source;
  if (s.evac.spec.targetNode !== undefined) s.status.targetNode = s.evac.spec.targetNode;
  s.status.originalUID = vmi.metadata.uid ?? '';
  s.status.vmOwned = owner !== undefined;
  if (owner !== undefined) {
    s.status.vmName = owner.name;
    s.status.vmUID = owner.uid;
    s.status.runStrategy = strategy;
  }
  s.status.snapshot = takeSnapshot(vmi, s.now);
  s.cond(
    ConditionType.Accepted,
    'True',
    Reason.Accepted,
    `evacuating ${owner ? `VM-owned (VirtualMachine ${owner.name}, runStrategy ${strategy})` : 'standalone'} ` +
      `VMI ${name} (uid ${s.status.originalUID}) from node ${source}; snapshot persisted before anything is destroyed`,
  );
  s.enter(Phase.Pending);
  s.events.push({
    type: 'Normal',
    reason: EventReason.Accepted,
    message: `evacuating ${name} from ${source}`,
  });
  if (owner === undefined) protectSnapshot(s);
  s.act({ type: 'PersistSnapshot', status: s.status });
  return false;
}

/**
 * A Failed evacuation of the same VMI that holds a standalone snapshot: its old instance was already
 * destroyed, so a new evacuation of the (now absent) VMI retries from that snapshot. The newest wins.
 */
function failedStandaloneSibling(s: Step): InstanceEvacuation | undefined {
  return s.o.siblings
    .filter(
      (e) =>
        e.spec.vmiName === s.evac.spec.vmiName &&
        e.metadata.name !== s.evac.metadata.name &&
        e.status?.phase === Phase.Failed &&
        e.status.snapshot !== undefined &&
        e.status.vmOwned === false &&
        findCondition(e.status.conditions, ConditionType.SourceTerminated)?.status === 'True',
    )
    .sort((a, b) =>
      (b.status?.phaseTimestamps?.Failed ?? '').localeCompare(a.status?.phaseTimestamps?.Failed ?? ''),
    )[0];
}

/** Accepts a retry: the failed evacuation's snapshot and identity become this one's, and nothing else happens. */
function adoptSnapshot(s: Step, from: InstanceEvacuation): boolean {
  const previous = from.status!;
  const source = previous.sourceNode ?? '';
  const target = validateTarget(s, source);
  if (target !== undefined) {
    s.fail(ConditionType.Accepted, target.reason, target.message);
    return false;
  }
  const built = buildRebuiltVmi(previous.snapshot!, s.evac.spec, source);
  if (!built.ok) {
    s.fail(ConditionType.Accepted, built.reason, built.message);
    return false;
  }
  s.status.sourceNode = source;
  if (s.evac.spec.targetNode !== undefined) s.status.targetNode = s.evac.spec.targetNode;
  s.status.originalUID = previous.originalUID ?? '';
  s.status.vmOwned = false;
  s.status.snapshot = structuredClone(previous.snapshot);
  s.cond(
    ConditionType.Accepted,
    'True',
    Reason.Accepted,
    `retrying standalone VMI ${s.evac.spec.vmiName} (uid ${s.status.originalUID}) from node ${source} with the snapshot ` +
      `InstanceEvacuation ${from.metadata.name} persisted before it failed`,
  );
  // Nothing of the old instance can run any more: the failed evacuation saw it terminated. So the
  // retry goes straight to rebuilding and forces nothing, whatever the source node does now.
  const by = `by InstanceEvacuation ${from.metadata.name}`;
  s.cond(
    ConditionType.SourceFenced,
    'True',
    Reason.RetryFromSnapshot,
    `the old instance on node ${source} was fenced ${by}`,
  );
  s.cond(
    ConditionType.SourceTerminated,
    'True',
    Reason.RetryFromSnapshot,
    `the old instance ${s.status.originalUID} was terminated ${by}`,
  );
  s.enter(Phase.Rebuilding);
  s.events.push({
    type: 'Normal',
    reason: EventReason.Accepted,
    message: `retrying ${s.evac.spec.vmiName} from the snapshot of ${from.metadata.name}`,
  });
  protectSnapshot(s);
  s.act({ type: 'PersistSnapshot', status: s.status });
  return false;
}

/** After the snapshot is persisted: healthy source → live path (if allowed), else wait for fencing. */
function route(s: Step): boolean {
  const source = s.status.sourceNode ?? '';
  const health = nodeHealth(s.o.sourceNode);
  if (health === 'Ready') {
    if (!s.evac.spec.allowLiveSource) {
      s.fail(
        ConditionType.SourceFenced,
        Reason.SourceNodeRecovered,
        `source node ${source} is Ready again and spec.allowLiveSource is false; nothing was destroyed`,
      );
      return false;
    }
    s.cond(
      ConditionType.SourceFenced,
      'True',
      Reason.FencingNotRequired,
      `source node ${source} is Ready and spec.allowLiveSource is set: the instance is shut down gracefully, no fencing needed`,
    );
    s.status.liveSource = true;
    return enterTerminating(s);
  }
  s.enter(Phase.Fencing);
  return true;
}

// ---------------------------------------------------------------- Fencing

/** Sets SourceFenced from the source node; true when it is fenced. */
function observeFencing(s: Step): boolean {
  const source = s.status.sourceNode ?? '';
  const fencing = isFenced(s.o.sourceNode);
  if (fencing.fenced) {
    const how = {
      NodeDeleted: [Reason.NodeDeleted, `node ${source} was deleted`],
      OutOfServiceTaint: [
        Reason.FencedByTaint,
        `node ${source} carries the ${TAINT_OUT_OF_SERVICE} NoExecute taint`,
      ],
      AdminAnnotation: [Reason.FencedByAnnotation, `node ${source} is annotated evacuator.dev/fenced=true`],
    }[fencing.how];
    s.cond(ConditionType.SourceFenced, 'True', how[0]!, how[1]!);
    s.events.push({ type: 'Normal', reason: EventReason.SourceFenced, message: how[1]! });
    return true;
  }
  s.cond(
    ConditionType.SourceFenced,
    'False',
    Reason.AwaitingFencing,
    `${healthText(s, source, nodeHealth(s.o.sourceNode))} but not fenced: nothing is destroyed until the node is ` +
      `powered off or isolated and then tainted ${TAINT_OUT_OF_SERVICE}=nodeshutdown:NoExecute, annotated ` +
      `evacuator.dev/fenced=true, or deleted`,
  );
  s.after(s.config.recheckSeconds);
  return false;
}

function decideFencing(s: Step): boolean {
  if (nodeHealth(s.o.sourceNode) === 'Ready') return route(s);
  if (!observeFencing(s)) return false;
  return enterTerminating(s);
}

/**
 * Terminating is recorded before anything is destroyed, in a step of its own: whoever finds the old
 * instance gone (a restarted operator, the deletion of this evacuation) can then tell that we did it.
 */
function enterTerminating(s: Step): boolean {
  s.enter(Phase.Terminating);
  return false;
}

// ---------------------------------------------------------------- Terminating

/** The path chosen when the source was Ready with spec.allowLiveSource: a graceful shutdown. */
const isLive = (s: Step) => s.status.liveSource === true;

/**
 * The one gate in front of every forced step (force-deleting a launcher pod, deleting a
 * VolumeAttachment): the source node is fenced NOW. Judged again at every step, whatever was seen
 * before: a taint or annotation taken off, or a Node that registers again, closes it.
 */
const mayForce = (s: Step): boolean => isFenced(s.o.sourceNode).fenced;

function steeringOf(s: Step): Steering {
  return steeringFor(s.status.sourceNode ?? '', s.evac.spec.targetNode);
}

function currentVm(s: Step): Vm | undefined {
  const vm = s.o.vm;
  if (vm === undefined || vm.metadata.uid !== s.status.vmUID || isDeleting(vm)) {
    s.fail(
      ConditionType.Rebuilt,
      Reason.VmGone,
      `VirtualMachine ${s.status.vmName} (uid ${s.status.vmUID}) was deleted or replaced during the evacuation`,
    );
    return undefined;
  }
  return vm;
}

/** Ensures the VM carries the overrides and the steering. Returns true once observed so. */
function ensureVmPrepared(s: Step, vm: Vm, strategy: string): boolean {
  const overridden = vmWithOverrides(vm, s.evac.spec);
  if (!overridden.ok) {
    s.fail(ConditionType.SourceTerminated, overridden.reason, overridden.message);
    return false;
  }
  const steer = strategy !== 'Halted';
  const steering = steeringOf(s);
  const pinned = vmWithPinnedMacs(overridden.value, s.status.snapshot?.interfaces);
  const desired = steer ? vmWithSteering(pinned, steering) : pinned;
  if (steer) s.status.steering = steering;
  const patch = vmPatch(vm, desired);
  if (patch.length === 0) {
    if (s.status.vmPreparedGeneration === undefined && vm.metadata.generation !== undefined) {
      // Recorded in a step of its own, before the old instance is touched: a restarted operator
      // must know which VMIs KubeVirt made from the prepared VM, even after our steering is gone.
      s.status.vmPreparedGeneration = vm.metadata.generation;
      return false;
    }
    return true;
  }
  if (steer && !s.hasFinalizer) s.act({ type: 'AddFinalizer', finalizer: FINALIZER_STEERING });
  s.act({
    type: 'PatchVm',
    namespace: s.namespace,
    name: vm.metadata.name,
    purpose: steer ? 'Steer' : 'Overrides',
    patch,
  });
  s.cond(
    ConditionType.SourceTerminated,
    'False',
    Reason.AwaitingVmPatch,
    `applying the flavor/image overrides${steer ? ` and node steering (metadata.name ${steering.operator} ${steering.node})` : ''} ` +
      `to VirtualMachine ${vm.metadata.name} before the old instance goes away`,
  );
  return false;
}

/** Deletes these launcher pods with no grace period (on a fenced node, or left behind by its kubelet). */
function forceDeletePods(s: Step, pods: readonly Pod[]): void {
  for (const p of pods)
    s.act({
      type: 'DeletePod',
      namespace: p.metadata.namespace ?? s.namespace,
      name: p.metadata.name,
      uid: p.metadata.uid ?? '',
      gracePeriodSeconds: 0,
    });
}

function decideTerminating(s: Step): boolean {
  const source = s.status.sourceNode ?? '';
  const force = mayForce(s);
  // Graceful only while the live source stays Ready; once it fails, only fencing lets us go on.
  const graceful = isLive(s) && !force && nodeHealth(s.o.sourceNode) === 'Ready';
  const vmiClass = classify(s);
  if (vmiClass === 'foreign') {
    s.fail(
      ConditionType.Rebuilt,
      Reason.VmiNameTaken,
      `a VMI named ${s.evac.spec.vmiName} exists that is not ours`,
    );
    return false;
  }
  let strategy = '';
  if (s.status.vmOwned) {
    const vm = currentVm(s);
    if (vm === undefined) return false;
    strategy = vmRunStrategy(vm);
    // A new VMI KubeVirt made from our prepared VM means the VM was ready; its steering may already be
    // gone again (a crash between unsteering and recording Rebuilding): steering it anew would make
    // that VMI look stale and have it replaced.
    const preparedCopy = vmiClass === 'new' && madeFromPreparedVm(s, s.o.vmi!);
    if (!preparedCopy && !ensureVmPrepared(s, vm, strategy)) return false;
  }
  const old = vmiClass === 'old' ? s.o.vmi : undefined;
  const uid = s.status.originalUID ?? '';
  const pods = launcherPodsOf(uid, s.o.launcherPods);
  const snapshotSpec = VmiSpecSchema.safeParse(s.status.snapshot?.spec);
  const claims = snapshotSpec.success ? claimNamesOf(snapshotSpec.data) : [];
  const vas = volumeAttachmentsOn(source, pvNamesOf(claims, s.o.pvcs), s.o.volumeAttachments);

  if (!graceful && !force) {
    // Neither a healthy live source nor a fenced one: force nothing. Wait while anything of the old
    // instance is left (a fence taken off mid-way, a live source that failed).
    if (pods.length > 0 || vas.length > 0 || (old !== undefined && !vmiIsFinal(old))) {
      observeFencing(s);
      return false;
    }
  } else if (graceful) {
    if (old !== undefined && !isDeleting(old) && !vmiIsFinal(old))
      s.act({ type: 'DeleteVmi', namespace: s.namespace, name: old.metadata.name, uid });
    if (old !== undefined || pods.length > 0) {
      s.cond(
        ConditionType.SourceTerminated,
        'False',
        Reason.AwaitingGracefulShutdown,
        `shutting down VMI ${s.evac.spec.vmiName} (uid ${uid}) gracefully on node ${source}: ` +
          `${old ? `VMI phase ${old.status?.phase ?? 'unset'}${isDeleting(old) ? ', deleting' : ''}` : 'VMI gone'}, ` +
          `${pods.length} launcher pod(s) left`,
      );
      return false;
    }
  } else {
    forceDeletePods(s, pods);
    if (pods.length > 0) {
      s.cond(
        ConditionType.SourceTerminated,
        'False',
        Reason.AwaitingLauncherPodDeletion,
        `force-deleting launcher pod(s) ${pods.map((p) => p.metadata.name).join(', ')} on fenced node ${source}`,
      );
    }
  }
  // On a healthy node the attach/detach controller detaches once nothing uses the volume there.
  if (force)
    for (const va of vas)
      s.act({ type: 'DeleteVolumeAttachment', name: va.metadata.name, uid: va.metadata.uid ?? '' });
  if (pods.length > 0) return false;
  if (vas.length > 0) {
    s.cond(
      ConditionType.SourceTerminated,
      'False',
      Reason.AwaitingVolumeDetach,
      `waiting for VolumeAttachment(s) ${vas.map((v) => v.metadata.name).join(', ')} on node ${source} to go`,
    );
    return false;
  }
  if (old !== undefined && !vmiIsFinal(old) && !(strategy === 'Halted' && isDeleting(old))) {
    s.cond(
      ConditionType.SourceTerminated,
      'False',
      Reason.AwaitingVmiFailure,
      `launcher pod gone; waiting for virt-controller to mark VMI ${old.metadata.name} Failed (phase ${old.status?.phase ?? 'unset'})`,
    );
    return false;
  }
  s.cond(
    ConditionType.SourceTerminated,
    'True',
    Reason.Terminated,
    `no launcher pod of uid ${uid} and no VolumeAttachment of its volumes on node ${source} remain`,
  );
  s.events.push({
    type: 'Normal',
    reason: EventReason.SourceTerminated,
    message: `old instance ${uid} is gone`,
  });
  s.enter(Phase.Rebuilding);
  return true;
}

// ---------------------------------------------------------------- Rebuilding

function rebuildingDeadline(s: Step): Date {
  const began = s.status.phaseTimestamps?.Rebuilding ?? s.nowText;
  return new Date(new Date(began).getTime() + s.config.rebuildTimeoutSeconds * 1000);
}

function awaiting(s: Step, reason: string, message: string): false {
  const deadline = rebuildingDeadline(s);
  if (s.now.getTime() >= deadline.getTime()) {
    s.fail(
      ConditionType.Rebuilt,
      Reason.RebuildTimeout,
      `not Running on another node within ${s.config.rebuildTimeoutSeconds}s (${message}); the snapshot is kept: ` +
        `delete the unscheduled VMI and create a new InstanceEvacuation to retry from it`,
    );
    return false;
  }
  s.cond(ConditionType.Rebuilt, 'False', reason, message);
  s.after(0, deadline);
  return false;
}

function maybeStart(s: Step, vm: Vm): void {
  const last = s.status.startRequestedAt;
  if (last !== undefined && s.now.getTime() < new Date(last).getTime() + s.config.startRetrySeconds * 1000) {
    s.after(s.config.startRetrySeconds, new Date(last));
    return;
  }
  s.act({ type: 'StartVm', namespace: s.namespace, name: vm.metadata.name });
  s.status.startRequestedAt = s.nowText;
  s.after(s.config.startRetrySeconds);
}

function isRebuiltRunning(s: Step, vmi: Vmi): boolean {
  const node = vmi.status?.nodeName;
  const target = s.evac.spec.targetNode;
  return (
    vmiIsRunning(vmi) && !!node && node !== s.status.sourceNode && (target === undefined || node === target)
  );
}

function decideRebuilding(s: Step): boolean {
  const vmiClass = classify(s);
  const name = s.evac.spec.vmiName;
  if (vmiClass === 'foreign') {
    s.fail(ConditionType.Rebuilt, Reason.VmiNameTaken, `a VMI named ${name} exists that is not ours`);
    return false;
  }
  const vmi = s.o.vmi;
  if (s.status.vmOwned) {
    const vm = currentVm(s);
    if (vm === undefined) return false;
    const strategy = vmRunStrategy(vm);
    if (strategy === 'Halted') {
      s.cond(
        ConditionType.Rebuilt,
        'True',
        Reason.RebuiltStopped,
        `VirtualMachine ${vm.metadata.name} is Halted and stays stopped (as Nova keeps a stopped instance stopped); ` +
          'its next start uses the new flavor/image and a healthy node',
      );
      s.enter(Phase.Rebuilt);
      return true;
    }
    if (vmiClass === 'old' || vmiClass === 'absent') {
      const selfRestarting =
        SELF_RESTARTING.includes(strategy) && !(strategy === 'RerunOnFailure' && isLive(s));
      if (!selfRestarting && (vmiClass === 'absent' || vmiIsFinal(vmi!))) maybeStart(s, vm);
      return awaiting(
        s,
        vmiClass === 'old' ? Reason.AwaitingOldVmiRemoval : Reason.AwaitingNewVmi,
        selfRestarting
          ? `waiting for KubeVirt's VM controller to recreate VMI ${name} (runStrategy ${strategy})`
          : `started VirtualMachine ${vm.metadata.name} (runStrategy ${strategy}); waiting for the new VMI`,
      );
    }
    // The new VMI exists. If KubeVirt made it before our changes reached the VM (the launcher pod
    // went, e.g. by pod GC, before our patch), it lacks them: replace it, KubeVirt recreates it.
    const n = vmi!;
    const madeFrom = Number(n.metadata.annotations?.[VM_GENERATION_ANNOTATION]);
    const prepared = s.status.vmPreparedGeneration;
    if (prepared !== undefined && Number.isInteger(madeFrom) && !madeFromPreparedVm(s, n)) {
      if (!isDeleting(n))
        s.act({ type: 'DeleteVmi', namespace: s.namespace, name, uid: n.metadata.uid ?? '' });
      return awaiting(
        s,
        Reason.StaleVmi,
        `VMI ${name} (uid ${n.metadata.uid}) was made from VirtualMachine generation ${madeFrom}, before the ` +
          `evacuation's changes (generation ${prepared}); deleting it so that KubeVirt recreates it`,
      );
    }
    s.status.newUID = n.metadata.uid;
    const nodeName = n.status?.nodeName;
    const steering = ourSteering(s);
    if (!nodeName)
      return awaiting(
        s,
        Reason.AwaitingScheduling,
        `new VMI ${name} (uid ${n.metadata.uid}) not scheduled yet`,
      );
    s.status.targetNode = nodeName;
    if (steering !== undefined && vmHasSteeringLeft(vm, steering)) {
      unsteer(s, vm, steering);
      return awaiting(
        s,
        Reason.AwaitingSteeringRemoval,
        `new VMI scheduled on ${nodeName}; removing the steering from the VM`,
      );
    }
    if (!isRebuiltRunning(s, n))
      return awaiting(
        s,
        Reason.AwaitingRunning,
        `new VMI ${name} on ${nodeName} is ${n.status?.phase ?? 'unset'}`,
      );
  } else {
    if (vmiClass === 'old') {
      if (!isDeleting(vmi!))
        s.act({ type: 'DeleteVmi', namespace: s.namespace, name, uid: s.status.originalUID ?? '' });
      return awaiting(
        s,
        Reason.AwaitingOldVmiRemoval,
        `deleting the old VMI ${name} (uid ${s.status.originalUID})`,
      );
    }
    if (vmiClass === 'absent') {
      const built = buildRebuiltVmi(s.status.snapshot!, s.evac.spec, s.status.sourceNode ?? '');
      if (!built.ok) {
        s.fail(ConditionType.Rebuilt, built.reason, built.message);
        return false;
      }
      s.act({ type: 'CreateVmi', namespace: s.namespace, vmi: built.value });
      return awaiting(s, Reason.AwaitingNewVmi, `creating VMI ${name} from the snapshot`);
    }
    const n = vmi!;
    s.status.newUID = n.metadata.uid;
    const nodeName = n.status?.nodeName;
    if (!nodeName)
      return awaiting(
        s,
        Reason.AwaitingScheduling,
        `new VMI ${name} (uid ${n.metadata.uid}) not scheduled yet`,
      );
    s.status.targetNode = nodeName;
    if (!isRebuiltRunning(s, n))
      return awaiting(
        s,
        Reason.AwaitingRunning,
        `new VMI ${name} on ${nodeName} is ${n.status?.phase ?? 'unset'}`,
      );
  }
  s.cond(
    ConditionType.Rebuilt,
    'True',
    Reason.RebuiltRunning,
    `VMI ${name} (uid ${vmi!.metadata.uid}) is Running on ${vmi!.status?.nodeName}`,
  );
  s.enter(Phase.Rebuilt);
  return true;
}

// ---------------------------------------------------------------- Rebuilt → Completed (Nova's init_host)

function decideRebuilt(s: Step): boolean {
  const source = s.status.sourceNode ?? '';
  const node = s.o.sourceNode;
  const health = nodeHealth(node);
  if (health !== 'Ready' && health !== 'Gone') {
    s.cond(
      ConditionType.SourceCleaned,
      'False',
      Reason.AwaitingSourceNode,
      `${healthText(s, source, health)}; cleanup is verified when it rejoins (Ready=True) or its Node is deleted`,
    );
    s.after(s.config.recheckSeconds);
    return false;
  }
  const uid = s.status.originalUID ?? '';
  const pods = launcherPodsOf(uid, s.o.launcherPods);
  const spec = VmiSpecSchema.safeParse(s.status.snapshot?.spec);
  // The rebuilt instance may have come back to the rejoined node: its volumes are attached there again.
  const rebuiltOnSource = classify(s) === 'new' && s.o.vmi?.status?.nodeName === source;
  const vas = rebuiltOnSource
    ? []
    : volumeAttachmentsOn(
        source,
        pvNamesOf(spec.success ? claimNamesOf(spec.data) : [], s.o.pvcs),
        s.o.volumeAttachments,
      );
  if (pods.length > 0 || vas.length > 0) {
    const since = [readySince(node), s.status.phaseTimestamps?.Rebuilt]
      .filter((t): t is string => t !== undefined)
      .map((t) => new Date(t).getTime());
    const from = new Date(since.length > 0 ? Math.max(...since) : s.now.getTime());
    const left = `${pods.length} launcher pod(s) of uid ${uid} and ${vas.length} VolumeAttachment(s) on ${source}`;
    if (s.now.getTime() < from.getTime() + s.config.cleanupGraceSeconds * 1000) {
      s.cond(
        ConditionType.SourceCleaned,
        'False',
        Reason.AwaitingKubeletCleanup,
        `waiting for the kubelet: ${left} left`,
      );
      s.after(s.config.cleanupGraceSeconds, from);
      return false;
    }
    forceDeletePods(s, pods);
    // A VolumeAttachment on a rejoined, unfenced node is the attach/detach controller's to release:
    // it may already serve whatever runs there now.
    if (mayForce(s))
      for (const va of vas)
        s.act({ type: 'DeleteVolumeAttachment', name: va.metadata.name, uid: va.metadata.uid ?? '' });
    s.cond(
      ConditionType.SourceCleaned,
      'False',
      Reason.ForcingCleanup,
      `grace period over, forcing: ${left}`,
    );
    s.after(s.config.recheckSeconds);
    return false;
  }
  const tainted = node?.spec?.taints?.some((t) => t.key === TAINT_OUT_OF_SERVICE) === true;
  const annotated = node?.metadata.annotations?.[ANNOTATION_FENCED] === 'true';
  s.cond(
    ConditionType.SourceCleaned,
    'True',
    Reason.Cleaned,
    `${health === 'Gone' ? `node ${source} was deleted` : `node ${source} rejoined`}; nothing of uid ${uid} remains there` +
      (tainted
        ? `. The ${TAINT_OUT_OF_SERVICE} taint is still on ${source}: whoever added it removes it`
        : '') +
      (annotated
        ? `. Remove the ${ANNOTATION_FENCED}=true annotation from ${source}: left on, it would fence the node at its next failure`
        : ''),
  );
  s.enter(Phase.Completed);
  return false;
}

// ---------------------------------------------------------------- terminal phases and deletion

/** A standalone instance lives only in the snapshot between its deletion and its rebuild: hold it. */
function protectSnapshot(s: Step): void {
  if (!s.has(FINALIZER_SNAPSHOT)) s.act({ type: 'AddFinalizer', finalizer: FINALIZER_SNAPSHOT });
}

function releaseSnapshot(s: Step): void {
  if (s.has(FINALIZER_SNAPSHOT)) s.act({ type: 'RemoveFinalizer', finalizer: FINALIZER_SNAPSHOT });
}

/**
 * Deleting a standalone evacuation once its old VMI is gone or failed (about to be deleted) but before
 * the new one exists would lose the instance: the rebuild is finished first, then the finalizer goes.
 * Before Terminating (recorded before anything is destroyed) an old VMI found gone or failed was not
 * our doing, and a deletion lets go. In a namespace being deleted nothing can be rebuilt: let go.
 */
function mustFinishRebuild(s: Step): boolean {
  if (!s.has(FINALIZER_SNAPSHOT) || s.status.vmOwned !== false || s.status.snapshot === undefined)
    return false;
  if (s.phase !== Phase.Terminating && s.phase !== Phase.Rebuilding) return false;
  if (s.o.namespaceDeleting) return false;
  const vmiClass = classify(s);
  // Deleting: by us (Terminating is recorded before we delete), or by whoever deletes what we evacuate.
  return vmiClass === 'absent' || (vmiClass === 'old' && (vmiIsFinal(s.o.vmi!) || isDeleting(s.o.vmi!)));
}

/**
 * The steering we may have put on the VM. The steering finalizer is added before the VM is steered,
 * and the steering follows from the spec and the recorded source: it is known even when the status
 * write after the steering patch was lost.
 */
function ourSteering(s: Step): Steering | undefined {
  if (s.status.steering !== undefined) return s.status.steering;
  return s.hasFinalizer && s.status.sourceNode !== undefined ? steeringOf(s) : undefined;
}

function unsteer(s: Step, vm: Vm, steering: Steering): void {
  s.act({
    type: 'PatchVm',
    namespace: s.namespace,
    name: vm.metadata.name,
    purpose: 'Unsteer',
    patch: vmPatch(vm, vmWithoutSteering(vm, steering)),
  });
}

/** Removes our steering from the VM (if any is left), then the finalizer. */
function releaseSteering(s: Step): void {
  const steering = ourSteering(s);
  const vm = s.o.vm;
  if (
    steering !== undefined &&
    vm !== undefined &&
    vm.metadata.uid === s.status.vmUID &&
    vmHasSteeringLeft(vm, steering)
  )
    unsteer(s, vm, steering);
  if (s.hasFinalizer) s.act({ type: 'RemoveFinalizer', finalizer: FINALIZER_STEERING });
}

const STEPS: Partial<Record<Phase, (s: Step) => boolean>> = {
  [Phase.Pending]: decidePending,
  [Phase.Fencing]: decideFencing,
  [Phase.Terminating]: decideTerminating,
  [Phase.Rebuilding]: decideRebuilding,
  [Phase.Rebuilt]: decideRebuilt,
};

/**
 * The next step of one evacuation, from what is observed now. Pure and idempotent: called again with
 * the same observation it returns the same plan; every action is safe to repeat.
 */
export function decide(observed: Observed, now: Date, config: DecideConfig = DEFAULT_CONFIG): Plan {
  const s = new Step(observed, now, config);
  if (isDeleting(observed.evacuation) && !mustFinishRebuild(s)) {
    releaseSteering(s);
    releaseSnapshot(s);
    return { ...s.plan(), status: structuredClone(observed.evacuation.status ?? {}), events: [] };
  }
  // Each step returns true when it moved to a phase whose step should run now too.
  for (let i = 0; i < 8; i++) {
    const step = STEPS[s.phase];
    if (step === undefined || !step(s)) break;
  }
  if (TERMINAL_PHASES.includes(s.phase)) releaseSteering(s);
  if (TERMINAL_PHASES.includes(s.phase) || s.phase === Phase.Rebuilt) releaseSnapshot(s);
  return s.plan();
}

/** Whether the controller should write plan.status (it differs from what was observed). */
export { jsonEqual as statusEqual } from '../runtime/conditions.ts';
