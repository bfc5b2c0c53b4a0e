import { expect } from 'chai';
import {
  ConditionType,
  FINALIZER_SNAPSHOT,
  FINALIZER_STEERING,
  LABEL_ORIGINAL_UID,
  Phase,
  Reason,
} from '../api/v1alpha1/constants.ts';
import type {
  InstanceEvacuation,
  InstanceEvacuationSpecInput,
  InstanceEvacuationStatus,
} from '../api/v1alpha1/types.ts';
import type { Vm, Vmi } from '../kubevirt/schemas.ts';
import type { Action } from './actions.ts';
import { findCondition } from '../runtime/conditions.ts';
import { deepFreeze } from '../runtime/store.ts';
import { decide as decideStep, type Plan } from './decide.ts';
import { DEFAULT_CONFIG, type DecideConfig, type Observed } from './observed.ts';
import { steeringFor } from './overrides.ts';
import {
  NEW_UID,
  NS,
  OLD_UID,
  OTHER,
  SOURCE,
  VM_UID,
  evacuation,
  launcherPod,
  node,
  observed,
  sourceNode,
  vm,
  vmi,
  vmiSpec,
  volumeAttachment,
  type Fence,
  type Health,
} from './testing.ts';
import { vmWithOverrides, vmWithPinnedMacs, vmWithSteering } from './vm-patches.ts';

const NOW = new Date('2026-11-26T12:00:00Z');
const later = (s: number) => new Date(NOW.getTime() + s * 1000);

type Ownership = 'standalone' | 'Always' | 'RerunOnFailure' | 'Manual' | 'Halted';
const OWNERSHIPS: Ownership[] = ['standalone', 'Always', 'RerunOnFailure', 'Manual', 'Halted'];
const owned = (o: Ownership) => o !== 'standalone';

const types = (p: Plan) => p.actions.map((a) => a.type);
/** Accepting persists the snapshot; a standalone one is first held by the snapshot finalizer. */
const acceptActions = (ownership: Ownership) =>
  ownership === 'standalone' ? ['AddFinalizer', 'PersistSnapshot'] : ['PersistSnapshot'];
const reasonOf = (p: Plan, type: string) => findCondition(p.status.conditions, type)?.reason;
const only = <T extends Action['type']>(p: Plan, type: T) =>
  p.actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);

/** The world around one evacuation; each test edits what it needs. */
function world(ownership: Ownership, spec: Partial<InstanceEvacuationSpecInput> = {}) {
  return {
    ownership,
    spec,
    vmi: vmi({ owned: owned(ownership) }) as Vmi | undefined,
    vm: owned(ownership) ? vm(ownership) : undefined,
    pods: [launcherPod(OLD_UID)],
  };
}

/** Status after acceptance (snapshot persisted), as decide() produced it. */
function accepted(
  ownership: Ownership,
  spec: Partial<InstanceEvacuationSpecInput> = {},
): InstanceEvacuationStatus {
  const w = world(ownership, spec);
  const p = decide(
    observed({
      evacuation: evacuation(spec),
      vmi: w.vmi,
      vm: w.vm,
      sourceNode: sourceNode(spec.allowLiveSource ? 'Ready' : 'Unknown'),
      targetNode: spec.targetNode ? node(spec.targetNode, 'Ready') : undefined,
    }),
    NOW,
  );
  expect(types(p)).to.deep.equal(acceptActions(ownership));
  return p.status;
}

/** The MACs the original instance reported (what the snapshot keeps). */
const originalMacs = () =>
  vmi({ owned: true }).status!.interfaces!.map((i) => ({ name: i.name!, mac: i.mac! }));

/** The VM as our own patch leaves it (overrides + pinned MACs + steering). */
function preparedVm(ownership: Ownership, spec: Partial<InstanceEvacuationSpecInput> = {}): Vm {
  const v = vm(ownership);
  const e = evacuation(spec);
  const o = vmWithOverrides(v, e.spec);
  if (!o.ok) throw new Error(o.message);
  const pinned = vmWithPinnedMacs(o.value, originalMacs());
  const out =
    ownership === 'Halted' ? pinned : vmWithSteering(pinned, steeringFor(SOURCE, e.spec.targetNode));
  out.metadata.generation = 8;
  return out;
}

function withPhase(
  status: InstanceEvacuationStatus,
  phase: Phase,
  at = NOW.toISOString().replace('.000', ''),
) {
  return { ...status, phase, phaseTimestamps: { ...status.phaseTimestamps, [phase]: at } };
}

/**
 * decide() as the controller runs it: a plan that only records something before destroying
 * (Terminating, the VM generation it prepared) is written first, and the next step, on that recorded
 * status, is the one that destroys (both asserted on their own below).
 */
function decide(o: Observed, now: Date, config: DecideConfig = DEFAULT_CONFIG): Plan {
  let plan = decideStep(o, now, config);
  const events = [...plan.events];
  for (let i = 0; i < 2; i++) {
    const before = o.evacuation.status;
    const recordedOnly =
      plan.actions.length === 0 &&
      ((plan.phase === Phase.Terminating && before?.phase !== Phase.Terminating) ||
        (plan.status.vmPreparedGeneration !== undefined && before?.vmPreparedGeneration === undefined));
    if (!recordedOnly) break;
    o = { ...o, evacuation: { ...o.evacuation, status: plan.status } };
    plan = decideStep(o, now, config);
    events.push(...plan.events);
  }
  return { ...plan, events };
}

describe('decide: Terminating is recorded before anything is destroyed', () => {
  const DESTRUCTIVE = ['DeletePod', 'DeleteVmi', 'DeleteVolumeAttachment', 'PatchVm', 'StartVm', 'CreateVmi'];

  it('should record the VM generation it prepared in a step of its own, before any pod is deleted', () => {
    const p = decideStep(
      observed({
        evacuation: evacuation({}, withPhase(accepted('Always'), Phase.Terminating), {
          finalizers: [FINALIZER_STEERING],
        }),
        vmi: vmi({ owned: true }),
        vm: preparedVm('Always'),
        sourceNode: sourceNode('Unknown', 'taint'),
        launcherPods: [launcherPod(OLD_UID)],
      }),
      NOW,
    );
    expect(p.actions).to.deep.equal([]);
    expect(p.status.vmPreparedGeneration).to.equal(8);
  });

  it('should never destroy or steer in a plan whose evacuation is not yet in Terminating', () => {
    let cases = 0;
    for (const ownership of OWNERSHIPS)
      for (const allowLiveSource of [false, true])
        for (const phase of [Phase.Pending, Phase.Fencing])
          for (const health of ['Ready', 'NotReady', 'Unknown', 'Gone'] as const)
            for (const fence of ['none', 'taint', 'annotation'] as const)
              for (const vmiState of ['Running', 'Failed', 'absent'] as const)
                for (const deleting of [false, true])
                  for (const namespaceDeleting of [false, true]) {
                    if (health === 'Gone' && fence !== 'none') continue;
                    const spec = allowLiveSource ? { allowLiveSource } : {};
                    const status = withPhase(accepted(ownership, spec), phase);
                    const name = JSON.stringify({
                      ownership,
                      allowLiveSource,
                      phase,
                      health,
                      fence,
                      vmiState,
                      deleting,
                      namespaceDeleting,
                    });
                    const p = decideStep(
                      observed({
                        evacuation: evacuation(spec, status, {
                          finalizers: owned(ownership) ? [] : [FINALIZER_SNAPSHOT],
                          ...(deleting ? { deletionTimestamp: '2026-11-26T11:59:00Z' } : {}),
                        }),
                        vmi:
                          vmiState === 'absent'
                            ? undefined
                            : vmi({ owned: owned(ownership), phase: vmiState }),
                        vm: owned(ownership) ? vm(ownership) : undefined,
                        sourceNode: sourceNode(health, fence),
                        launcherPods: [launcherPod(OLD_UID)],
                        volumeAttachments: [volumeAttachment()],
                        namespaceDeleting,
                      }),
                      NOW,
                    );
                    expect(
                      types(p).filter((t) => DESTRUCTIVE.includes(t)),
                      name,
                    ).to.deep.equal([]);
                    cases++;
                  }
    expect(cases).to.be.above(1000);
  });

  it('should only record Terminating once a failed source is fenced, or a live source is allowed', () => {
    const cases = [
      {
        name: 'fenced',
        status: withPhase(accepted('standalone'), Phase.Fencing),
        node: sourceNode('Unknown', 'taint'),
      },
      {
        name: 'live',
        status: accepted('standalone'),
        node: sourceNode('Ready'),
        spec: { allowLiveSource: true },
      },
    ];
    for (const c of cases) {
      const p = decideStep(
        observed({
          evacuation: evacuation(c.spec ?? {}, c.status),
          vmi: vmi({}),
          sourceNode: c.node,
          launcherPods: [launcherPod(OLD_UID)],
        }),
        NOW,
      );
      expect(p.phase, c.name).to.equal(Phase.Terminating);
      expect(p.actions, c.name).to.deep.equal([]);
    }
  });
});

describe('decide', () => {
  context('Pending: every source health × allowLiveSource × ownership', () => {
    const healths: Health[] = ['Ready', 'NotReady', 'Unknown', 'Gone'];
    for (const ownership of OWNERSHIPS)
      for (const health of healths)
        for (const allowLiveSource of [false, true]) {
          const refused = health === 'Ready' && !allowLiveSource;
          it(`should ${refused ? 'refuse' : 'persist the snapshot only'} for ${ownership}, source ${health}, allowLiveSource=${allowLiveSource}`, () => {
            const w = world(ownership);
            const p = decide(
              observed({
                evacuation: evacuation({ allowLiveSource }),
                vmi: w.vmi,
                vm: w.vm,
                sourceNode: sourceNode(health),
                launcherPods: w.pods,
              }),
              NOW,
            );
            if (refused) {
              expect(p.phase).to.equal(Phase.Failed);
              expect(reasonOf(p, ConditionType.Accepted)).to.equal(Reason.SourceNodeHealthy);
              expect(p.actions).to.deep.equal([]);
              expect(findCondition(p.status.conditions, ConditionType.Accepted)!.message).to.include(
                'allowLiveSource',
              );
              return;
            }
            expect(p.phase).to.equal(Phase.Pending);
            expect(types(p)).to.deep.equal(acceptActions(ownership));
            const s = p.status;
            expect(s.snapshot!.metadata.uid).to.equal(OLD_UID);
            expect(s.snapshot!.interfaces).to.have.length(2);
            expect(s).to.include({ sourceNode: SOURCE, originalUID: OLD_UID, vmOwned: owned(ownership) });
            if (owned(ownership))
              expect(s).to.include({ vmName: 'vm-1', vmUID: VM_UID, runStrategy: ownership });
            expect(only(p, 'PersistSnapshot')[0]!.status).to.deep.equal(s);
            expect(reasonOf(p, ConditionType.Accepted)).to.equal(Reason.Accepted);
            expect(p.status.phaseTimestamps?.Pending).to.equal('2026-11-26T12:00:00Z');
          });
        }
  });

  context('Pending: refusals touch nothing', () => {
    const cases: {
      name: string;
      reason: string;
      edit: (o: Observed) => Observed;
      spec?: Partial<InstanceEvacuationSpecInput>;
      ownership?: Ownership;
    }[] = [
      { name: 'the VMI does not exist', reason: Reason.VmiNotFound, edit: (o) => ({ ...o, vmi: undefined }) },
      {
        name: 'the VMI is not scheduled',
        reason: Reason.VmiNotScheduled,
        edit: (o) => ({ ...o, vmi: vmi({ nodeName: undefined, phase: 'Pending' }) }),
      },
      {
        name: 'the target node does not exist',
        reason: Reason.TargetNodeNotFound,
        spec: { targetNode: 'node-x' },
        edit: (o) => ({ ...o, targetNode: undefined }),
      },
      {
        name: 'the target node is NotReady',
        reason: Reason.TargetNodeNotReady,
        spec: { targetNode: OTHER },
        edit: (o) => ({ ...o, targetNode: node(OTHER, 'NotReady') }),
      },
      {
        name: 'the target node is cordoned',
        reason: Reason.TargetNodeUnschedulable,
        spec: { targetNode: OTHER },
        edit: (o) => ({ ...o, targetNode: node(OTHER, 'Ready', { unschedulable: true }) }),
      },
      {
        name: 'the target node is the source',
        reason: Reason.TargetNodeIsSource,
        spec: { targetNode: SOURCE },
        edit: (o) => ({ ...o, targetNode: o.sourceNode }),
      },
      {
        name: 'image is set but the boot disk is a PVC',
        reason: Reason.BootDiskNotContainerDisk,
        spec: { image: 'quay.io/containerdisks/fedora:41' },
        edit: (o) => {
          const v = vmi({});
          v.spec.domain.devices!.disks = [{ name: 'data', bootOrder: 1 }, { name: 'root' }];
          return { ...o, vmi: v };
        },
      },
      {
        name: 'an instancetype is asked for a standalone VMI',
        reason: Reason.FlavorUnsupported,
        spec: { flavor: { instancetype: { kind: 'VirtualMachineClusterInstancetype', name: 'u1.large' } } },
        edit: (o) => o,
      },
      {
        name: 'cpu/memory is asked for a VM that uses an instancetype',
        reason: Reason.FlavorUnsupported,
        ownership: 'Always',
        spec: { flavor: { memory: '4Gi' } },
        edit: (o) => ({ ...o, vm: vm('Always', { instancetype: 'u1.small' }) }),
      },
      {
        name: 'the VM has runStrategy Once',
        reason: Reason.RunStrategyUnsupported,
        ownership: 'Always',
        edit: (o) => ({ ...o, vm: vm('Once') }),
      },
      {
        name: 'the VM is Halted and a target node is asked',
        reason: Reason.RunStrategyUnsupported,
        ownership: 'Halted',
        spec: { targetNode: OTHER },
        edit: (o) => ({ ...o, targetNode: node(OTHER, 'Ready') }),
      },
      {
        name: 'the owning VM is not found',
        reason: Reason.VmNotFound,
        ownership: 'Always',
        edit: (o) => ({ ...o, vm: undefined }),
      },
      {
        name: 'the VMI is controlled by a VirtualMachineInstanceReplicaSet',
        reason: Reason.RunStrategyUnsupported,
        edit: (o) => {
          const v = vmi({});
          v.metadata.ownerReferences = [
            {
              apiVersion: 'kubevirt.io/v1',
              kind: 'VirtualMachineInstanceReplicaSet',
              name: 'rs',
              uid: 'rs',
              controller: true,
            },
          ];
          return { ...o, vmi: v };
        },
      },
    ];
    for (const c of cases) {
      it(`should fail with ${c.reason} when ${c.name}`, () => {
        const w = world(c.ownership ?? 'standalone', c.spec);
        const base = observed({ evacuation: evacuation(c.spec), vmi: w.vmi, vm: w.vm, launcherPods: w.pods });
        const p = decide(c.edit(base), NOW);
        expect(p.phase).to.equal(Phase.Failed);
        expect(reasonOf(p, ConditionType.Accepted)).to.equal(c.reason);
        expect(p.actions).to.deep.equal([]);
        expect(p.status.snapshot).to.equal(undefined);
        expect(p.events.map((e) => e.type)).to.deep.equal(['Warning']);
      });
    }
  });

  context('Pending: a second evacuation of the same VMI', () => {
    const sibling = (name: string, created: string, status?: InstanceEvacuationStatus) =>
      evacuation({}, status, { name, uid: `uid-${name}`, creationTimestamp: created });
    const mine = { name: 'evac-1', created: '2026-11-26T10:05:00Z' };
    const cases: { name: string; other: ReturnType<typeof sibling>; refused: boolean }[] = [
      { name: 'an older pending one', other: sibling('evac-0', '2026-11-26T10:00:00Z'), refused: true },
      {
        name: 'a same-second one with a smaller name',
        other: sibling('evac-0', mine.created),
        refused: true,
      },
      {
        name: 'a same-second one with a larger name',
        other: sibling('evac-2', mine.created),
        refused: false,
      },
      { name: 'a younger pending one', other: sibling('evac-9', '2026-11-26T11:00:00Z'), refused: false },
      {
        name: 'a younger one that already started',
        other: sibling('evac-9', '2026-11-26T11:00:00Z', { phase: Phase.Fencing }),
        refused: true,
      },
      {
        name: 'an older Failed one',
        other: sibling('evac-0', '2026-11-26T10:00:00Z', { phase: Phase.Failed }),
        refused: false,
      },
      {
        name: 'an older Rebuilt one (waiting only for source cleanup)',
        other: sibling('evac-0', '2026-11-26T10:00:00Z', { phase: Phase.Rebuilt }),
        refused: false,
      },
    ];
    for (const c of cases) {
      it(`should ${c.refused ? 'refuse' : 'proceed'} next to ${c.name}`, () => {
        const p = decide(observed({ evacuation: evacuation(), vmi: vmi({}), siblings: [c.other] }), NOW);
        if (c.refused) {
          expect(p.phase).to.equal(Phase.Failed);
          expect(reasonOf(p, ConditionType.Accepted)).to.equal(Reason.DuplicateEvacuation);
          expect(p.actions).to.deep.equal([]);
        } else expect(types(p)).to.deep.equal(acceptActions('standalone'));
      });
    }
    it('should ignore evacuations of other VMIs', () => {
      const other = evacuation({ vmiName: 'vm-2' }, undefined, {
        name: 'evac-0',
        creationTimestamp: '2026-11-26T09:00:00Z',
      });
      expect(
        types(decide(observed({ evacuation: evacuation(), vmi: vmi({}), siblings: [other] }), NOW)),
      ).to.deep.equal(acceptActions('standalone'));
    });
  });

  context('Fencing: every source health × fencing signal', () => {
    const healths: Exclude<Health, 'Ready'>[] = ['NotReady', 'Unknown', 'Gone'];
    const fences: Fence[] = ['taint', 'annotation', 'none'];
    for (const ownership of ['standalone', 'Always'] as Ownership[])
      for (const health of healths)
        for (const fence of fences) {
          const fenced = health === 'Gone' || fence !== 'none';
          it(`should ${fenced ? 'force the old instance out' : 'wait and touch nothing'} for ${ownership}, source ${health}, fence ${fence}`, () => {
            const status = accepted(ownership);
            const p = decide(
              observed({
                evacuation: evacuation({}, status),
                vmi: vmi({ owned: owned(ownership) }),
                vm: owned(ownership) ? preparedVm(ownership) : undefined,
                sourceNode: sourceNode(health, fence),
                launcherPods: [launcherPod(OLD_UID), launcherPod('uid-someone-else')],
                volumeAttachments: [volumeAttachment(), volumeAttachment(OTHER)],
              }),
              NOW,
            );
            if (!fenced) {
              expect(p.phase).to.equal(Phase.Fencing);
              expect(p.actions).to.deep.equal([]);
              const c = findCondition(p.status.conditions, ConditionType.SourceFenced)!;
              expect(c).to.include({ status: 'False', reason: Reason.AwaitingFencing });
              expect(c.message)
                .to.include('node.kubernetes.io/out-of-service')
                .and.include('evacuator.dev/fenced=true');
              expect(p.requeueAt).to.deep.equal(later(DEFAULT_CONFIG.recheckSeconds));
              return;
            }
            expect(p.phase).to.equal(Phase.Terminating);
            const want = { taint: Reason.FencedByTaint, annotation: Reason.FencedByAnnotation, none: '' }[
              fence
            ];
            expect(reasonOf(p, ConditionType.SourceFenced)).to.equal(
              health === 'Gone' ? Reason.NodeDeleted : want,
            );
            expect(only(p, 'DeletePod')).to.deep.equal([
              {
                type: 'DeletePod',
                namespace: NS,
                name: `virt-launcher-vm-1-${OLD_UID}`,
                uid: `pod-${OLD_UID}`,
                gracePeriodSeconds: 0,
              },
            ]);
            expect(only(p, 'DeleteVolumeAttachment').map((a) => a.name)).to.deep.equal([
              `csi-${SOURCE}-pv-data`,
            ]);
            expect(types(p)).to.not.include('DeleteVmi');
            expect(reasonOf(p, ConditionType.SourceTerminated)).to.equal(Reason.AwaitingLauncherPodDeletion);
          });
        }

    it('should fail when the source comes back Ready without allowLiveSource, having destroyed nothing', () => {
      const p = decide(
        observed({
          evacuation: evacuation({}, withPhase(accepted('standalone'), Phase.Fencing)),
          vmi: vmi({}),
          sourceNode: sourceNode('Ready'),
        }),
        NOW,
      );
      expect(p.phase).to.equal(Phase.Failed);
      expect(reasonOf(p, ConditionType.SourceFenced)).to.equal(Reason.SourceNodeRecovered);
      expect(p.actions).to.deep.equal([]);
    });
  });

  context('Terminating (fenced)', () => {
    const fencedStatus = (ownership: Ownership) =>
      decide(
        observed({
          evacuation: evacuation({}, accepted(ownership)),
          vmi: vmi({ owned: owned(ownership) }),
          vm: owned(ownership) ? preparedVm(ownership) : undefined,
          sourceNode: sourceNode('Unknown', 'taint'),
          launcherPods: [launcherPod(OLD_UID)],
        }),
        NOW,
      ).status;

    it('should patch the VM (finalizer first) before any pod is deleted', () => {
      const status = accepted('Always', { flavor: { memory: '4Gi' } });
      const p = decide(
        observed({
          evacuation: evacuation({ flavor: { memory: '4Gi' } }, status),
          vmi: vmi({ owned: true }),
          vm: vm('Always'),
          sourceNode: sourceNode('Unknown', 'taint'),
          launcherPods: [launcherPod(OLD_UID)],
        }),
        NOW,
      );
      expect(types(p)).to.deep.equal(['AddFinalizer', 'PatchVm']);
      const patch = only(p, 'PatchVm')[0]!;
      expect(patch.purpose).to.equal('Steer');
      expect(patch.patch.slice(0, 2)).to.deep.equal([
        { op: 'test', path: '/metadata/uid', value: VM_UID },
        { op: 'test', path: '/metadata/generation', value: 7 },
      ]);
      expect(reasonOf(p, ConditionType.SourceTerminated)).to.equal(Reason.AwaitingVmPatch);
      expect(p.status.steering).to.deep.equal({ operator: 'NotIn', node: SOURCE });
    });

    it('should not add the finalizer twice', () => {
      const p = decide(
        observed({
          evacuation: evacuation({}, accepted('Always'), { finalizers: [FINALIZER_STEERING] }),
          vmi: vmi({ owned: true }),
          vm: vm('Always'),
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(types(p)).to.deep.equal(['PatchVm']);
    });

    it('should pin the MACs the old instance had into the VM template, so the restart keeps them', () => {
      const p = decide(
        observed({
          evacuation: evacuation({}, accepted('Always')),
          vmi: vmi({ owned: true }),
          vm: vm('Always'),
          sourceNode: sourceNode('Unknown', 'taint'),
        }),
        NOW,
      );
      const changes = only(p, 'PatchVm')[0]!.patch.filter((op) => op.op !== 'test');
      expect(JSON.stringify(changes))
        .to.include('"macAddress":"02:00:00:00:00:01"')
        .and.include('"macAddress":"02:00:00:00:00:02"');
    });

    it('should not repin an interface whose MAC the template already sets', () => {
      const template = vmiSpec();
      template.domain.devices!.interfaces![0]!.macAddress = '02:aa:aa:aa:aa:aa';
      const pinned = vmWithPinnedMacs(vm('Always', { template }), originalMacs());
      expect(pinned.spec.template.spec.domain.devices!.interfaces!.map((i) => i.macAddress)).to.deep.equal([
        '02:aa:aa:aa:aa:aa',
        '02:00:00:00:00:02',
      ]);
    });

    it('should patch a Halted VM with overrides only, no steering and no finalizer', () => {
      const spec = { image: 'quay.io/containerdisks/fedora:41' };
      const p = decide(
        observed({
          evacuation: evacuation(spec, accepted('Halted', spec)),
          vmi: vmi({ owned: true, deleting: true }),
          vm: vm('Halted'),
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(types(p)).to.deep.equal(['PatchVm']);
      expect(only(p, 'PatchVm')[0]!.purpose).to.equal('Overrides');
      expect(p.status.steering).to.equal(undefined);
    });

    const vmiStates: {
      name: string;
      vmi: (o: boolean) => Vmi | undefined;
      pods: boolean;
      next: Phase;
      reason: string;
    }[] = [
      {
        name: 'pod still there',
        vmi: (o) => vmi({ owned: o }),
        pods: true,
        next: Phase.Terminating,
        reason: Reason.AwaitingLauncherPodDeletion,
      },
      {
        name: 'pod gone, VMI still Running',
        vmi: (o) => vmi({ owned: o }),
        pods: false,
        next: Phase.Terminating,
        reason: Reason.AwaitingVmiFailure,
      },
      {
        name: 'pod gone, VMI Failed',
        vmi: (o) => vmi({ owned: o, phase: 'Failed' }),
        pods: false,
        next: Phase.Rebuilding,
        reason: Reason.Terminated,
      },
      {
        name: 'pod gone, VMI gone',
        vmi: () => undefined,
        pods: false,
        next: Phase.Rebuilding,
        reason: Reason.Terminated,
      },
      {
        name: 'pod gone, new VMI already there',
        vmi: (o) =>
          vmi({
            owned: o,
            uid: NEW_UID,
            nodeName: OTHER,
            phase: 'Scheduled',
            labels: { [LABEL_ORIGINAL_UID]: OLD_UID },
          }),
        pods: false,
        next: Phase.Rebuilding,
        reason: Reason.Terminated,
      },
    ];
    for (const ownership of OWNERSHIPS.filter((o) => o !== 'Halted'))
      for (const st of vmiStates) {
        it(`should ${st.next === Phase.Rebuilding ? 'move on' : 'wait'} (${st.reason}) for ${ownership} when ${st.name}`, () => {
          const p = decide(
            observed({
              evacuation: evacuation({}, fencedStatus(ownership)),
              vmi: st.vmi(owned(ownership)),
              vm: owned(ownership) ? preparedVm(ownership) : undefined,
              sourceNode: sourceNode('Unknown', 'taint'),
              launcherPods: st.pods ? [launcherPod(OLD_UID, { deleting: true })] : [],
            }),
            NOW,
          );
          expect(reasonOf(p, ConditionType.SourceTerminated)).to.equal(st.reason);
          if (st.next === Phase.Terminating) {
            expect(p.phase).to.equal(Phase.Terminating);
            expect(types(p).every((t) => t === 'DeletePod')).to.equal(true);
          } else expect(p.phase).to.not.equal(Phase.Terminating);
        });
      }

    it('should wait for VolumeAttachments of its PVs on the source before rebuilding', () => {
      const p = decide(
        observed({
          evacuation: evacuation({}, fencedStatus('standalone')),
          vmi: vmi({ phase: 'Failed' }),
          sourceNode: sourceNode('Unknown', 'taint'),
          volumeAttachments: [volumeAttachment()],
        }),
        NOW,
      );
      expect(p.phase).to.equal(Phase.Terminating);
      expect(reasonOf(p, ConditionType.SourceTerminated)).to.equal(Reason.AwaitingVolumeDetach);
      expect(only(p, 'DeleteVolumeAttachment')).to.deep.equal([
        { type: 'DeleteVolumeAttachment', name: `csi-${SOURCE}-pv-data`, uid: `va-${SOURCE}` },
      ]);
    });

    it('should refuse to touch a same-name VMI that is not ours', () => {
      const p = decide(
        observed({
          evacuation: evacuation({}, fencedStatus('standalone')),
          vmi: vmi({ uid: 'uid-stranger', nodeName: OTHER }),
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(p.phase).to.equal(Phase.Failed);
      expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(Reason.VmiNameTaken);
      expect(p.actions).to.deep.equal([]);
    });

    it('should fail when the VM was deleted mid-way', () => {
      const p = decide(
        observed({
          evacuation: evacuation({}, fencedStatus('Always')),
          vmi: undefined,
          vm: undefined,
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(p.phase).to.equal(Phase.Failed);
      expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(Reason.VmGone);
    });
  });

  context('Terminating (live source, allowLiveSource)', () => {
    const spec = { allowLiveSource: true };
    for (const ownership of OWNERSHIPS) {
      it(`should delete the ${ownership} VMI gracefully (uid precondition), never force`, () => {
        const p = decide(
          observed({
            evacuation: evacuation(spec, accepted(ownership, spec), { finalizers: [FINALIZER_STEERING] }),
            vmi: vmi({ owned: owned(ownership) }),
            vm: owned(ownership) ? preparedVm(ownership, spec) : undefined,
            sourceNode: sourceNode('Ready'),
            launcherPods: [launcherPod(OLD_UID)],
          }),
          NOW,
        );
        expect(p.phase).to.equal(Phase.Terminating);
        expect(reasonOf(p, ConditionType.SourceFenced)).to.equal(Reason.FencingNotRequired);
        expect(p.actions).to.deep.equal([{ type: 'DeleteVmi', namespace: NS, name: 'vm-1', uid: OLD_UID }]);
        expect(reasonOf(p, ConditionType.SourceTerminated)).to.equal(Reason.AwaitingGracefulShutdown);
      });
    }

    it('should not delete again while the VMI is being deleted', () => {
      const p = decide(
        observed({
          evacuation: evacuation(spec, accepted('standalone', spec)),
          vmi: vmi({ deleting: true }),
          sourceNode: sourceNode('Ready'),
          launcherPods: [launcherPod(OLD_UID, { deleting: true })],
        }),
        NOW,
      );
      expect(p.actions).to.deep.equal([]);
    });

    it('should wait for fencing when the source fails during the graceful shutdown', () => {
      const status = decide(
        observed({
          evacuation: evacuation(spec, accepted('standalone', spec)),
          vmi: vmi({ deleting: true }),
          sourceNode: sourceNode('Ready'),
          launcherPods: [launcherPod(OLD_UID, { deleting: true })],
        }),
        NOW,
      ).status;
      const p = decide(
        observed({
          evacuation: evacuation(spec, status),
          vmi: vmi({ deleting: true }),
          sourceNode: sourceNode('Unknown'),
          launcherPods: [launcherPod(OLD_UID, { deleting: true })],
        }),
        NOW,
      );
      expect(p.phase).to.equal(Phase.Terminating);
      expect(reasonOf(p, ConditionType.SourceFenced)).to.equal(Reason.AwaitingFencing);
      expect(p.actions).to.deep.equal([]);
      // ...and keep waiting on every later step: the path is not forgotten with the condition.
      const again = decide(
        observed({
          evacuation: evacuation(spec, p.status),
          vmi: vmi({ deleting: true }),
          sourceNode: sourceNode('Unknown'),
          launcherPods: [launcherPod(OLD_UID, { deleting: true })],
          volumeAttachments: [volumeAttachment()],
        }),
        NOW,
      );
      expect(again.actions).to.deep.equal([]);
      expect(reasonOf(again, ConditionType.SourceFenced)).to.equal(Reason.AwaitingFencing);
      // Once fenced, forcing is allowed.
      const fenced = decide(
        observed({
          evacuation: evacuation(spec, again.status),
          vmi: vmi({ deleting: true }),
          sourceNode: sourceNode('Unknown', 'taint'),
          launcherPods: [launcherPod(OLD_UID, { deleting: true })],
        }),
        NOW,
      );
      expect(types(fenced)).to.deep.equal(['DeletePod']);
      expect(only(fenced, 'DeletePod')[0]!.gracePeriodSeconds).to.equal(0);
    });

    it('should never delete a VolumeAttachment on the healthy source: the attach/detach controller does', () => {
      const p = decide(
        observed({
          evacuation: evacuation(spec, accepted('standalone', spec)),
          vmi: undefined,
          sourceNode: sourceNode('Ready'),
          volumeAttachments: [volumeAttachment()],
        }),
        NOW,
      );
      expect(p.actions).to.deep.equal([]);
      expect(reasonOf(p, ConditionType.SourceTerminated)).to.equal(Reason.AwaitingVolumeDetach);
    });
  });

  context('Terminating after a fence is taken off', () => {
    const terminating = () => withPhase(accepted('standalone'), Phase.Terminating);
    for (const [what, source] of [
      ['the node is Ready again and untainted', sourceNode('Ready')],
      ['the node is still down but the taint was removed', sourceNode('Unknown')],
    ] as const)
      it(`should force nothing when ${what}, and say it awaits fencing`, () => {
        const p = decide(
          observed({
            evacuation: evacuation({}, terminating()),
            vmi: vmi({}),
            sourceNode: source,
            launcherPods: [launcherPod(OLD_UID)],
            volumeAttachments: [volumeAttachment()],
          }),
          NOW,
        );
        expect(p.actions).to.deep.equal([]);
        expect(reasonOf(p, ConditionType.SourceFenced)).to.equal(Reason.AwaitingFencing);
      });
  });

  context('Rebuilding', () => {
    const rebuilding = (
      ownership: Ownership,
      spec: Partial<InstanceEvacuationSpecInput> = {},
      extra: Partial<InstanceEvacuationStatus> = {},
    ) => {
      const s = withPhase(accepted(ownership, spec), Phase.Rebuilding);
      s.conditions = [
        ...(s.conditions ?? []),
        {
          type: ConditionType.SourceFenced,
          status: 'True',
          reason: spec.allowLiveSource ? Reason.FencingNotRequired : Reason.FencedByTaint,
          message: '',
          lastTransitionTime: '2026-11-26T12:00:00Z',
        },
      ];
      if (owned(ownership) && ownership !== 'Halted') s.steering = steeringFor(SOURCE, spec.targetNode);
      if (spec.allowLiveSource) s.liveSource = true;
      return { ...s, ...extra };
    };
    const newVmi = (o: boolean, phase: string, nodeName?: string) =>
      vmi({
        owned: o,
        uid: NEW_UID,
        phase,
        nodeName: nodeName as string,
        labels: o ? {} : { [LABEL_ORIGINAL_UID]: OLD_UID },
      });

    context('standalone', () => {
      it('should delete the Failed old VMI with a uid precondition', () => {
        const p = decide(
          observed({
            evacuation: evacuation({}, rebuilding('standalone')),
            vmi: vmi({ phase: 'Failed' }),
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          NOW,
        );
        expect(p.actions).to.deep.equal([{ type: 'DeleteVmi', namespace: NS, name: 'vm-1', uid: OLD_UID }]);
        expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(Reason.AwaitingOldVmiRemoval);
      });
      it('should recreate the VMI from the snapshot when it is gone', () => {
        const p = decide(
          observed({
            evacuation: evacuation({}, rebuilding('standalone')),
            vmi: undefined,
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          NOW,
        );
        const create = only(p, 'CreateVmi');
        expect(create).to.have.length(1);
        const m = create[0]!.vmi['metadata'] as { name: string; labels: Record<string, string> };
        expect(m.name).to.equal('vm-1');
        expect(m.labels[LABEL_ORIGINAL_UID]).to.equal(OLD_UID);
        expect(p.requeueAt).to.deep.equal(later(DEFAULT_CONFIG.rebuildTimeoutSeconds));
      });
      const states: [string, Vmi, Phase, string][] = [
        ['not scheduled', newVmi(false, 'Pending'), Phase.Rebuilding, Reason.AwaitingScheduling],
        ['scheduled', newVmi(false, 'Scheduled', OTHER), Phase.Rebuilding, Reason.AwaitingRunning],
        ['Running elsewhere', newVmi(false, 'Running', OTHER), Phase.Rebuilt, Reason.RebuiltRunning],
        ['Failed', newVmi(false, 'Failed', OTHER), Phase.Rebuilding, Reason.AwaitingRunning],
      ];
      for (const [name, v, next, reason] of states)
        it(`should say ${next}/${reason} when the new VMI is ${name}`, () => {
          const p = decide(
            observed({
              evacuation: evacuation({}, rebuilding('standalone')),
              vmi: v,
              sourceNode: sourceNode('Unknown', 'taint'),
            }),
            NOW,
          );
          expect(p.phase).to.equal(next);
          expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(reason);
          expect(p.actions).to.deep.equal([]);
          expect(p.status.newUID).to.equal(NEW_UID);
        });
      it('should not count Running on a node other than the requested target', () => {
        const spec = { targetNode: OTHER };
        const p = decide(
          observed({
            evacuation: evacuation(spec, rebuilding('standalone', spec)),
            vmi: newVmi(false, 'Running', 'node-c'),
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          NOW,
        );
        expect(p.phase).to.equal(Phase.Rebuilding);
      });
      it('should fail after the timeout, keeping the snapshot', () => {
        const p = decide(
          observed({
            evacuation: evacuation({}, rebuilding('standalone')),
            vmi: newVmi(false, 'Scheduled', OTHER),
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          later(DEFAULT_CONFIG.rebuildTimeoutSeconds),
        );
        expect(p.phase).to.equal(Phase.Failed);
        expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(Reason.RebuildTimeout);
        expect(p.status.snapshot).to.not.equal(undefined);
      });
      it('should use a configured timeout', () => {
        const p = decide(
          observed({
            evacuation: evacuation({}, rebuilding('standalone')),
            vmi: newVmi(false, 'Scheduled', OTHER),
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          later(61),
          { ...DEFAULT_CONFIG, rebuildTimeoutSeconds: 60 },
        );
        expect(p.phase).to.equal(Phase.Failed);
      });
    });

    context('VM-owned', () => {
      const cases: { ownership: Ownership; vmi: 'old-failed' | 'absent'; live?: boolean; start: boolean }[] =
        [
          { ownership: 'Always', vmi: 'old-failed', start: false },
          { ownership: 'Always', vmi: 'absent', start: false },
          { ownership: 'RerunOnFailure', vmi: 'old-failed', start: false },
          { ownership: 'RerunOnFailure', vmi: 'absent', start: false },
          { ownership: 'RerunOnFailure', vmi: 'absent', live: true, start: true },
          { ownership: 'Manual', vmi: 'old-failed', start: true },
          { ownership: 'Manual', vmi: 'absent', start: true },
          { ownership: 'Always', vmi: 'absent', live: true, start: false },
        ];
      for (const c of cases)
        it(`should ${c.start ? 'start the VM' : "leave it to KubeVirt's VM controller"} for ${c.ownership}, VMI ${c.vmi}${c.live ? ', live source' : ''}`, () => {
          const spec = c.live ? { allowLiveSource: true } : {};
          const p = decide(
            observed({
              evacuation: evacuation(spec, rebuilding(c.ownership, spec)),
              vmi: c.vmi === 'absent' ? undefined : vmi({ owned: true, phase: 'Failed' }),
              vm: preparedVm(c.ownership, spec),
              sourceNode: sourceNode(c.live ? 'Ready' : 'Gone'),
            }),
            NOW,
          );
          expect(p.phase).to.equal(Phase.Rebuilding);
          expect(types(p)).to.deep.equal(c.start ? ['StartVm'] : []);
          expect(types(p)).to.not.include('CreateVmi');
          if (c.start) expect(p.status.startRequestedAt).to.equal('2026-11-26T12:00:00Z');
        });

      it('should not start again within the retry period, and retry after it', () => {
        const status = rebuilding('Manual', {}, { startRequestedAt: '2026-11-26T12:00:00Z' });
        const o = observed({
          evacuation: evacuation({}, status),
          vmi: undefined,
          vm: preparedVm('Manual'),
          sourceNode: sourceNode('Unknown', 'taint'),
        });
        expect(types(decide(o, later(10)))).to.deep.equal([]);
        expect(decide(o, later(10)).requeueAt).to.deep.equal(later(DEFAULT_CONFIG.startRetrySeconds));
        expect(types(decide(o, later(DEFAULT_CONFIG.startRetrySeconds)))).to.deep.equal(['StartVm']);
      });

      it('should remove the steering once the new VMI is scheduled, then call it Rebuilt once Running', () => {
        const steered = preparedVm('Always');
        const p = decide(
          observed({
            evacuation: evacuation({}, rebuilding('Always')),
            vmi: newVmi(true, 'Scheduled', OTHER),
            vm: steered,
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          NOW,
        );
        expect(types(p)).to.deep.equal(['PatchVm']);
        expect(only(p, 'PatchVm')[0]!.purpose).to.equal('Unsteer');
        expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(Reason.AwaitingSteeringRemoval);
        const unsteered = vm('Always');
        const q = decide(
          observed({
            evacuation: evacuation({}, p.status),
            vmi: newVmi(true, 'Running', OTHER),
            vm: unsteered,
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          NOW,
        );
        expect(q.phase).to.equal(Phase.Rebuilt);
        expect(q.actions).to.deep.equal([]);
        expect(q.status.targetNode).to.equal(OTHER);
      });

      it('should keep a Halted VM stopped and call it Rebuilt', () => {
        const p = decide(
          observed({
            evacuation: evacuation({}, rebuilding('Halted')),
            vmi: undefined,
            vm: preparedVm('Halted'),
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          NOW,
        );
        expect(p.phase).to.equal(Phase.Rebuilt);
        expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(Reason.RebuiltStopped);
        expect(p.actions).to.deep.equal([]);
      });

      it('should fail on a same-name VMI owned by someone else', () => {
        const stranger = vmi({ uid: 'x', nodeName: OTHER });
        const p = decide(
          observed({
            evacuation: evacuation({}, rebuilding('Always')),
            vmi: stranger,
            vm: preparedVm('Always'),
            sourceNode: sourceNode('Unknown', 'taint'),
          }),
          NOW,
        );
        expect(p.phase).to.equal(Phase.Failed);
        expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(Reason.VmiNameTaken);
        // the steering is released on failure
        expect(types(p)).to.deep.equal(['PatchVm']);
      });
    });
  });

  context('Rebuilt → Completed (source cleanup)', () => {
    const rebuilt = () => withPhase(accepted('standalone'), Phase.Rebuilt, '2026-11-26T11:00:00Z');
    const cases: {
      name: string;
      source: ReturnType<typeof sourceNode>;
      pods: boolean;
      vas: boolean;
      now: Date;
      phase: Phase;
      reason: string;
      actions: string[];
    }[] = [
      {
        name: 'the source is still down',
        source: sourceNode('Unknown', 'taint'),
        pods: false,
        vas: false,
        now: NOW,
        phase: Phase.Rebuilt,
        reason: Reason.AwaitingSourceNode,
        actions: [],
      },
      {
        name: 'the source rejoined clean',
        source: node(SOURCE, 'Ready'),
        pods: false,
        vas: false,
        now: NOW,
        phase: Phase.Completed,
        reason: Reason.Cleaned,
        actions: [],
      },
      {
        name: 'the source was deleted',
        source: undefined,
        pods: false,
        vas: false,
        now: NOW,
        phase: Phase.Completed,
        reason: Reason.Cleaned,
        actions: [],
      },
      {
        name: 'the source rejoined with leftovers, within the grace period',
        source: node(SOURCE, 'Ready', { readySince: '2026-11-26T11:59:00Z' }),
        pods: true,
        vas: true,
        now: NOW,
        phase: Phase.Rebuilt,
        reason: Reason.AwaitingKubeletCleanup,
        actions: [],
      },
      {
        name: 'the source rejoined with leftovers, after the grace period',
        source: node(SOURCE, 'Ready', { readySince: '2026-11-26T11:59:00Z' }),
        pods: true,
        vas: true,
        now: later(DEFAULT_CONFIG.cleanupGraceSeconds),
        phase: Phase.Rebuilt,
        reason: Reason.ForcingCleanup,
        // The VolumeAttachment of a rejoined, unfenced node is the attach/detach controller's.
        actions: ['DeletePod'],
      },
      {
        name: 'the source rejoined still tainted out-of-service with leftovers, after the grace period',
        source: node(SOURCE, 'Ready', { readySince: '2026-11-26T11:59:00Z', fence: 'taint' }),
        pods: true,
        vas: true,
        now: later(DEFAULT_CONFIG.cleanupGraceSeconds),
        phase: Phase.Rebuilt,
        reason: Reason.ForcingCleanup,
        actions: ['DeletePod', 'DeleteVolumeAttachment'],
      },
    ];
    for (const c of cases)
      it(`should say ${c.phase}/${c.reason} when ${c.name}`, () => {
        const p = decide(
          observed({
            evacuation: evacuation({}, rebuilt()),
            vmi: vmi({ uid: NEW_UID, nodeName: OTHER, labels: { [LABEL_ORIGINAL_UID]: OLD_UID } }),
            sourceNode: c.source,
            launcherPods: c.pods ? [launcherPod(OLD_UID), launcherPod(NEW_UID)] : [launcherPod(NEW_UID)],
            volumeAttachments: c.vas ? [volumeAttachment()] : [],
          }),
          c.now,
        );
        expect(p.phase).to.equal(c.phase);
        expect(reasonOf(p, ConditionType.SourceCleaned)).to.equal(c.reason);
        expect(types(p)).to.deep.equal(c.actions);
        if (c.reason === Reason.AwaitingKubeletCleanup)
          expect(p.requeueAt).to.deep.equal(new Date('2026-11-26T12:01:00Z'));
        for (const d of only(p, 'DeletePod')) expect(d.uid).to.equal(`pod-${OLD_UID}`);
      });

    it('should remind that the out-of-service taint is not ours to remove', () => {
      const p = decide(
        observed({
          evacuation: evacuation({}, rebuilt()),
          sourceNode: node(SOURCE, 'Ready', { fence: 'taint' }),
        }),
        NOW,
      );
      expect(p.phase).to.equal(Phase.Completed);
      expect(findCondition(p.status.conditions, ConditionType.SourceCleaned)!.message).to.include(
        'whoever added it removes it',
      );
    });
  });

  context('terminal phases and deletion', () => {
    it('should do nothing once Completed', () => {
      const s = withPhase(accepted('standalone'), Phase.Completed);
      const p = decide(observed({ evacuation: evacuation({}, s), sourceNode: sourceNode('Gone') }), NOW);
      expect(p.actions).to.deep.equal([]);
      expect(p.status).to.deep.equal({ ...s, observedGeneration: 1 });
      expect(p.events).to.deep.equal([]);
    });
    it('should release the steering and the finalizer of a Failed VM-owned evacuation', () => {
      const s = { ...withPhase(accepted('Always'), Phase.Failed), steering: steeringFor(SOURCE, undefined) };
      const p = decide(
        observed({
          evacuation: evacuation({}, s, { finalizers: [FINALIZER_STEERING] }),
          vm: preparedVm('Always'),
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(types(p)).to.deep.equal(['PatchVm', 'RemoveFinalizer']);
      const q = decide(
        observed({
          evacuation: evacuation({}, s, { finalizers: [FINALIZER_STEERING] }),
          vm: vm('Always'),
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(types(q)).to.deep.equal(['RemoveFinalizer']);
    });
    it('should release the steering when the evacuation is deleted mid-way, and change no status', () => {
      const s = {
        ...withPhase(accepted('Always'), Phase.Terminating),
        steering: steeringFor(SOURCE, undefined),
      };
      const p = decide(
        observed({
          evacuation: evacuation({}, s, {
            finalizers: [FINALIZER_STEERING],
            deletionTimestamp: '2026-11-26T12:00:00Z',
          }),
          vm: preparedVm('Always'),
          vmi: vmi({ owned: true }),
          launcherPods: [launcherPod(OLD_UID)],
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(types(p)).to.deep.equal(['PatchVm', 'RemoveFinalizer']);
      expect(p.status).to.deep.equal(s);
    });

    it('should release the steering even when the status write after the steering patch was lost', () => {
      const lost = withPhase(accepted('Always'), Phase.Terminating); // no status.steering
      const p = decide(
        observed({
          evacuation: evacuation({}, lost, {
            finalizers: [FINALIZER_STEERING],
            deletionTimestamp: '2026-11-26T12:00:00Z',
          }),
          vm: preparedVm('Always'),
          vmi: vmi({ owned: true }),
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(types(p)).to.deep.equal(['PatchVm', 'RemoveFinalizer']);
      expect(only(p, 'PatchVm')[0]!.purpose).to.equal('Unsteer');
    });
  });

  context('idempotence', () => {
    it('should never change what it observed (the informer cache hands out shared objects)', () => {
      const o = deepFreeze(
        observed({
          evacuation: evacuation({}, withPhase(accepted('standalone'), Phase.Terminating)),
          vmi: vmi({}),
          sourceNode: sourceNode('Gone'),
          launcherPods: [launcherPod(OLD_UID)],
        }),
      );
      expect(() => decide(o, NOW)).to.not.throw();
      expect(decide(o, NOW)).to.deep.equal(decide(o, NOW));
    });
    it('should not move lastTransitionTime when a condition keeps its status', () => {
      const first = decide(
        observed({ evacuation: evacuation({}, accepted('standalone')), vmi: vmi({}) }),
        NOW,
      );
      const second = decide(observed({ evacuation: evacuation({}, first.status), vmi: vmi({}) }), later(30));
      const t = (p: Plan) =>
        findCondition(p.status.conditions, ConditionType.SourceFenced)!.lastTransitionTime;
      expect(t(second)).to.equal(t(first));
    });
  });
});

describe('decide: retrying from a failed evacuation’s snapshot', () => {
  /** A standalone evacuation that failed after the old instance was destroyed (e.g. RebuildTimeout). */
  function failedSibling(terminated = true, ownership: Ownership = 'standalone'): InstanceEvacuation {
    const status = structuredClone(accepted(ownership));
    status.phase = 'Failed';
    status.phaseTimestamps = { ...status.phaseTimestamps, Failed: '2026-11-26T10:30:00Z' };
    status.conditions = [
      ...(status.conditions ?? []),
      {
        type: ConditionType.SourceTerminated,
        status: terminated ? 'True' : 'False',
        reason: terminated ? Reason.Terminated : Reason.AwaitingFencing,
        message: '',
        lastTransitionTime: '2026-11-26T10:20:00Z',
      },
    ];
    return evacuation({}, status, { name: 'evac-0', creationTimestamp: '2026-11-26T10:00:00Z' });
  }
  const retry = () =>
    evacuation({}, undefined, { name: 'evac-2', creationTimestamp: '2026-11-26T11:00:00Z' });

  it('should adopt the snapshot when the VMI is gone, persisting it and nothing else', () => {
    const sibling = failedSibling();
    const p = decide(observed({ evacuation: retry(), siblings: [sibling], vmi: undefined }), NOW);
    expect(types(p)).to.deep.equal(['AddFinalizer', 'PersistSnapshot']);
    expect(p.phase).to.equal('Rebuilding');
    expect(reasonOf(p, ConditionType.SourceTerminated)).to.equal(Reason.RetryFromSnapshot);
    expect(p.status.snapshot).to.deep.equal(sibling.status!.snapshot);
    expect(p.status).to.include({ originalUID: OLD_UID, sourceNode: SOURCE, vmOwned: false });
    expect(reasonOf(p, ConditionType.SourceFenced)).to.equal(Reason.RetryFromSnapshot);
  });

  it('should then rebuild from it, whatever the source node does now', () => {
    const adopted = decide(observed({ evacuation: retry(), siblings: [failedSibling()] }), NOW).status;
    for (const health of ['Ready', 'Unknown', 'Gone'] as const) {
      const p = decide(
        observed({
          evacuation: evacuation({}, adopted, { name: 'evac-2' }),
          siblings: [failedSibling()],
          sourceNode: sourceNode(health),
        }),
        NOW,
      );
      expect(types(p), health).to.deep.equal(['CreateVmi']);
      const vmiManifest = only(p, 'CreateVmi')[0]!.vmi as { metadata: { labels: Record<string, string> } };
      expect(vmiManifest.metadata.labels['evacuator.dev/original-uid']).to.equal(OLD_UID);
    }
  });

  it('should refuse while the failed evacuation’s unscheduled copy still holds the name, saying to delete it', () => {
    const copy = vmi({
      uid: NEW_UID,
      labels: { 'evacuator.dev/original-uid': OLD_UID },
      nodeName: undefined,
      phase: 'Scheduling',
    });
    const p = decide(observed({ evacuation: retry(), siblings: [failedSibling()], vmi: copy }), NOW);
    expect(p.phase).to.equal('Failed');
    expect(reasonOf(p, ConditionType.Accepted)).to.equal(Reason.VmiNotScheduled);
    expect(findCondition(p.status.conditions, ConditionType.Accepted)?.message).to.include(
      'delete it to retry',
    );
    expect(p.actions).to.deep.equal([]);
  });

  it('should not adopt a snapshot whose old instance was never seen gone, nor a VM-owned one', () => {
    for (const sibling of [failedSibling(false), failedSibling(true, 'Always')]) {
      const p = decide(observed({ evacuation: retry(), siblings: [sibling], vmi: undefined }), NOW);
      expect(reasonOf(p, ConditionType.Accepted)).to.equal(Reason.VmiNotFound);
      expect(p.actions).to.deep.equal([]);
    }
  });
});

describe('decide: the snapshot finalizer of a standalone evacuation', () => {
  const held = (status: InstanceEvacuationStatus, deleting: boolean) =>
    evacuation({}, status, {
      finalizers: [FINALIZER_SNAPSHOT],
      ...(deleting ? { deletionTimestamp: '2026-11-26T11:59:00Z' } : {}),
    });
  const removals = (p: Plan) => only(p, 'RemoveFinalizer').map((a) => a.finalizer);

  it('should let a deletion go at once while nothing was destroyed (Fencing)', () => {
    const status = withPhase(accepted('standalone'), Phase.Fencing);
    const p = decide(
      observed({ evacuation: held(status, true), vmi: vmi({}), launcherPods: [launcherPod(OLD_UID)] }),
      NOW,
    );
    expect(types(p)).to.deep.equal(['RemoveFinalizer']);
    expect(removals(p)).to.deep.equal([FINALIZER_SNAPSHOT]);
  });

  it('should finish the rebuild first when deleted after the old VMI went and before the new one exists', () => {
    const status = withPhase(accepted('standalone'), Phase.Rebuilding);
    const p = decide(
      observed({ evacuation: held(status, true), vmi: undefined, sourceNode: sourceNode('Gone') }),
      NOW,
    );
    expect(types(p)).to.deep.equal(['CreateVmi']);
  });

  it('should let a deletion go before Terminating even with the old VMI gone: we destroy nothing before recording it', () => {
    for (const phase of [Phase.Pending, Phase.Fencing]) {
      const status = withPhase(accepted('standalone'), phase);
      const p = decide(
        observed({ evacuation: held(status, true), vmi: undefined, sourceNode: sourceNode('Gone') }),
        NOW,
      );
      expect(types(p), phase).to.deep.equal(['RemoveFinalizer']);
      expect(removals(p), phase).to.deep.equal([FINALIZER_SNAPSHOT]);
    }
  });

  it('should let go when its namespace is being deleted: nothing can be rebuilt there', () => {
    for (const phase of [Phase.Pending, Phase.Terminating, Phase.Rebuilding]) {
      const status = withPhase(accepted('standalone'), phase);
      const p = decide(
        observed({
          evacuation: held(status, true),
          vmi: undefined,
          sourceNode: sourceNode('Gone'),
          namespaceDeleting: true,
        }),
        NOW,
      );
      expect(types(p), phase).to.deep.equal(['RemoveFinalizer']);
      expect(removals(p), phase).to.deep.equal([FINALIZER_SNAPSHOT]);
    }
  });

  it('should finish the rebuild when deleted while our graceful deletion of the old VMI is under way', () => {
    const status = {
      ...withPhase(accepted('standalone', { allowLiveSource: true }), Phase.Terminating),
      liveSource: true,
    };
    const p = decide(
      observed({
        evacuation: held(status, true),
        vmi: vmi({ deleting: true }),
        sourceNode: sourceNode('Ready'),
        launcherPods: [launcherPod(OLD_UID)],
      }),
      NOW,
    );
    expect(removals(p)).to.deep.equal([]);
  });

  it('should finish deleting the failed old VMI and rebuilding when deleted in Terminating', () => {
    const status = withPhase(accepted('standalone'), Phase.Terminating);
    const p = decide(
      observed({
        evacuation: held(status, true),
        vmi: vmi({ phase: 'Failed' }),
        sourceNode: sourceNode('Gone'),
      }),
      NOW,
    );
    expect(types(p)).to.include('DeleteVmi');
    expect(removals(p)).to.deep.equal([]);
  });

  it('should let go once the rebuilt VMI exists, and on reaching Rebuilt anyway', () => {
    const rebuilding = withPhase(accepted('standalone'), Phase.Rebuilding);
    const copy = vmi({
      uid: NEW_UID,
      labels: { [LABEL_ORIGINAL_UID]: OLD_UID },
      nodeName: undefined,
      phase: 'Scheduling',
    });
    expect(removals(decide(observed({ evacuation: held(rebuilding, true), vmi: copy }), NOW))).to.deep.equal([
      FINALIZER_SNAPSHOT,
    ]);
    const running = vmi({ uid: NEW_UID, labels: { [LABEL_ORIGINAL_UID]: OLD_UID }, nodeName: OTHER });
    const p = decide(observed({ evacuation: held(rebuilding, false), vmi: running }), NOW);
    expect(p.phase).to.equal(Phase.Rebuilt);
    expect(removals(p)).to.deep.equal([FINALIZER_SNAPSHOT]);
  });
});

describe('decide: a VMI KubeVirt made from the VM before our changes reached it', () => {
  const rebuildingAlways = (prepared: number | undefined) => {
    const status = withPhase(accepted('Always'), Phase.Rebuilding);
    status.steering = steeringFor(SOURCE, undefined);
    if (prepared !== undefined) status.vmPreparedGeneration = prepared;
    return status;
  };
  const madeFrom = (generation: string) => {
    const v = vmi({ owned: true, uid: NEW_UID, nodeName: OTHER });
    v.metadata.annotations = { ...v.metadata.annotations, 'kubevirt.io/vm-generation': generation };
    return v;
  };

  it('should record the VM generation first seen prepared', () => {
    const p = decide(
      observed({
        evacuation: evacuation({}, withPhase(accepted('Always'), Phase.Terminating)),
        vmi: vmi({ owned: true, phase: 'Failed' }),
        vm: preparedVm('Always'),
        sourceNode: sourceNode('Gone'),
      }),
      NOW,
    );
    expect(p.status.vmPreparedGeneration).to.equal(8);
  });

  it('should not steer again, nor replace the copy, when a crash came between unsteering and recording Rebuilding', () => {
    const terminating = { ...withPhase(accepted('Always'), Phase.Terminating), vmPreparedGeneration: 8 };
    terminating.steering = steeringFor(SOURCE, undefined);
    const unsteered = vmWithPinnedMacs(vm('Always'), originalMacs());
    unsteered.metadata.generation = 9;
    const p = decide(
      observed({
        evacuation: evacuation({}, terminating, { finalizers: [FINALIZER_STEERING] }),
        vmi: madeFrom('8'),
        vm: unsteered,
        sourceNode: sourceNode('Unknown', 'taint'),
      }),
      NOW,
    );
    expect(only(p, 'PatchVm').map((a) => a.purpose)).to.not.include('Steer');
    expect(types(p)).to.not.include('DeleteVmi');
    expect(p.phase).to.equal(Phase.Rebuilt);
    expect(p.status.newUID).to.equal(NEW_UID);
  });

  it('should delete a stale new VMI (uid precondition) so that KubeVirt recreates it from the current template', () => {
    const p = decide(
      observed({
        evacuation: evacuation({}, rebuildingAlways(8)),
        vmi: madeFrom('7'),
        vm: preparedVm('Always'),
        sourceNode: sourceNode('Gone'),
      }),
      NOW,
    );
    expect(p.actions).to.deep.equal([{ type: 'DeleteVmi', namespace: NS, name: 'vm-1', uid: NEW_UID }]);
    expect(reasonOf(p, ConditionType.Rebuilt)).to.equal(Reason.StaleVmi);
    expect(p.status.newUID).to.equal(undefined);
  });

  it('should accept a new VMI made from the prepared generation or later, or when none was recorded', () => {
    for (const [prepared, generation] of [
      [8, '8'],
      [8, '9'],
      [undefined, '1'],
    ] as const) {
      const p = decide(
        observed({
          evacuation: evacuation({}, rebuildingAlways(prepared)),
          vmi: madeFrom(generation),
          vm: preparedVm('Always'),
          sourceNode: sourceNode('Gone'),
        }),
        NOW,
      );
      expect(types(p), `${prepared} vs ${generation}`).to.not.include('DeleteVmi');
      expect(p.status.newUID).to.equal(NEW_UID);
    }
  });
});
