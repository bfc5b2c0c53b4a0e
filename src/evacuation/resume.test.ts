// Crash-and-resume: a small in-memory world that plays KubeVirt and the API server, driven by decide().
// At every step the operator may "crash" after applying only part of a plan and without writing
// status; the evacuation must still end Completed with exactly one VMI of that name, nothing lost.
import { expect } from 'chai';
import { LABEL_ORIGINAL_UID, Phase } from '../api/v1alpha1/constants.ts';
import type { InstanceEvacuation } from '../api/v1alpha1/types.ts';
import type { Node, Pod, Vm, Vmi } from '../kubevirt/schemas.ts';
import { decide } from './decide.ts';
import { removeSteering } from './overrides.ts';
import {
  OTHER,
  SOURCE,
  evacuation,
  launcherPod,
  node,
  observed,
  vm,
  vmi,
  volumeAttachment,
  type Fence,
} from './testing.ts';

interface World {
  evac: InstanceEvacuation;
  vmis: Vmi[];
  vm: Vm | undefined;
  pods: Pod[];
  vas: ReturnType<typeof volumeAttachment>[];
  source: Node | undefined;
  uids: number;
}

function kubevirt(w: World): void {
  for (const v of w.vmis) {
    const uid = v.metadata.uid!;
    const hasPod = w.pods.some((p) => p.metadata.labels?.['kubevirt.io/created-by'] === uid);
    if (v.status?.phase === 'Running' && v.status.nodeName === SOURCE && !hasPod) v.status.phase = 'Failed';
    if (v.status?.nodeName === undefined) {
      v.status = { ...v.status, phase: 'Running', nodeName: OTHER };
      w.pods.push(launcherPod(uid));
    }
  }
  // VM controller, runStrategy Always: delete a final VMI, create one when there is none.
  if (w.vm !== undefined) {
    w.vmis = w.vmis.filter((v) => !(v.status?.phase === 'Failed' || v.status?.phase === 'Succeeded'));
    if (w.vmis.length === 0) {
      const uid = `uid-gen-${++w.uids}`;
      const created = vmi({ owned: true, uid, spec: structuredClone(w.vm.spec.template.spec) });
      created.status = { interfaces: created.status!.interfaces! };
      w.vmis.push(created);
    }
  }
  // Pods gone from a fenced node release their attachments.
  if (!w.pods.some((p) => p.spec?.nodeName === SOURCE)) w.vas = [];
}

function operator(w: World, now: Date, crash: { prefix: number } | undefined): void {
  const plan = decide(
    observed({
      evacuation: w.evac,
      vmi: w.vmis[0],
      vm: w.vm,
      sourceNode: w.source,
      launcherPods: w.pods,
      volumeAttachments: w.vas,
    }),
    now,
  );
  const actions = crash ? plan.actions.slice(0, crash.prefix) : plan.actions;
  for (const a of actions) {
    switch (a.type) {
      case 'PersistSnapshot':
        w.evac = { ...w.evac, status: a.status };
        break;
      case 'AddFinalizer':
        w.evac.metadata.finalizers = [...(w.evac.metadata.finalizers ?? []), a.finalizer];
        break;
      case 'RemoveFinalizer':
        w.evac.metadata.finalizers = (w.evac.metadata.finalizers ?? []).filter((f) => f !== a.finalizer);
        break;
      case 'DeletePod':
        w.pods = w.pods.filter((p) => p.metadata.uid !== a.uid);
        break;
      case 'DeleteVolumeAttachment':
        w.vas = w.vas.filter((v) => v.metadata.uid !== a.uid);
        break;
      case 'DeleteVmi':
        w.vmis = w.vmis.filter((v) => v.metadata.uid !== a.uid);
        break;
      case 'CreateVmi': {
        if (w.vmis.some((v) => v.metadata.name === (a.vmi['metadata'] as { name: string }).name)) break; // AlreadyExists
        const created = structuredClone(a.vmi) as unknown as Vmi;
        created.metadata.uid = `uid-gen-${++w.uids}`;
        w.vmis.push(created);
        break;
      }
      case 'PatchVm': {
        const test = a.patch.find((op) => op.path === '/metadata/generation');
        if (w.vm === undefined || (test && test.op === 'test' && test.value !== w.vm.metadata.generation))
          break;
        for (const op of a.patch)
          if (op.path === '/spec/template/spec' && op.op === 'add')
            w.vm.spec.template.spec = structuredClone(op.value) as Vm['spec']['template']['spec'];
        w.vm.metadata.generation = (w.vm.metadata.generation ?? 0) + 1;
        break;
      }
      case 'StartVm':
        break;
    }
  }
  if (!crash) w.evac = { ...w.evac, status: plan.status };
}

function run(ownership: 'standalone' | 'Always', fence: Fence, crashAt: number, prefix: number): World {
  const w: World = {
    evac: evacuation(),
    vmis: [vmi({ owned: ownership === 'Always' })],
    vm: ownership === 'Always' ? vm('Always') : undefined,
    pods: [launcherPod('uid-old')],
    vas: [volumeAttachment()],
    source: fence === 'none' ? undefined : node(SOURCE, 'Unknown', { fence }),
    uids: 0,
  };
  let now = new Date('2026-11-26T12:00:00Z');
  for (let i = 0; i < 40 && w.evac.status?.phase !== Phase.Completed; i++) {
    operator(w, now, i === crashAt ? { prefix } : undefined);
    kubevirt(w);
    if (w.evac.status?.phase === Phase.Rebuilt && w.source !== undefined) w.source = node(SOURCE, 'Ready');
    now = new Date(now.getTime() + 5000);
  }
  return w;
}

describe('decide: crash and resume', () => {
  for (const ownership of ['standalone', 'Always'] as const)
    for (const fence of ['taint', 'annotation', 'none'] as Fence[])
      // none = Node deleted
      for (let crashAt = 0; crashAt < 8; crashAt++)
        for (const prefix of [0, 1]) {
          it(`should finish with one rebuilt VMI: ${ownership}, fenced by ${fence === 'none' ? 'deletion' : fence}, crash at step ${crashAt} after ${prefix} action(s)`, () => {
            const w = run(ownership, fence, crashAt, prefix);
            expect(w.evac.status?.phase, JSON.stringify(w.evac.status?.conditions)).to.equal(Phase.Completed);
            expect(w.vmis).to.have.length(1);
            const v = w.vmis[0]!;
            expect(v.metadata.name).to.equal('vm-1');
            expect(v.metadata.uid).to.not.equal('uid-old');
            expect(v.status).to.include({ phase: 'Running', nodeName: OTHER });
            expect(
              w.pods.filter((p) => p.metadata.labels?.['kubevirt.io/created-by'] === 'uid-old'),
            ).to.deep.equal([]);
            expect(w.vas).to.deep.equal([]);
            if (ownership === 'standalone') {
              expect(v.metadata.labels?.[LABEL_ORIGINAL_UID]).to.equal('uid-old');
              expect(v.spec.domain.devices!.interfaces!.map((i) => i.macAddress)).to.deep.equal([
                '02:00:00:00:00:01',
                '02:00:00:00:00:02',
              ]);
            } else {
              // the steering is gone again and the finalizer released
              expect(
                removeSteering(w.vm!.spec.template.spec, { operator: 'NotIn', node: SOURCE }),
              ).to.deep.equal(w.vm!.spec.template.spec);
              expect(w.evac.metadata.finalizers ?? []).to.deep.equal([]);
            }
          });
        }
});
