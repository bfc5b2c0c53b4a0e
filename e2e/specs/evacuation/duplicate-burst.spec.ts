// Several evacuations of one VMI created at once (an admin and automation racing, a script run
// twice): exactly one may act, whatever the order in which the operator's workers see them and its
// cache catches up with its own writes. Each burst creates them a few milliseconds apart in
// descending name order, so that a later one precedes the earlier ones by the tie-break (same
// creation second, smaller name) while the first may already be persisting its snapshot.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { ConditionType, LABEL_ORIGINAL_UID, Phase, Reason } from '../../../src/api/v1alpha1/constants.ts';
import type { InstanceEvacuation } from '../../../src/api/v1alpha1/types.ts';
import { createNamespace, deleteNamespace, eventually, objects } from '../../support/kube.ts';
import { condition, createEvacuation, readEvacuation } from '../../support/evacuation.ts';
import { startOperator } from '../../support/evacuator.ts';
import { readVmi, vmiManifest, waitForRunningVmi } from '../../support/kubevirt.ts';
import type { OperatorProcess } from '../../support/operator-process.ts';

const PER_BURST = 6;
const GAPS_MS = [0, 5, 15, 30];

describe('InstanceEvacuations of one VMI created in a burst', function () {
  this.timeout(300_000);
  let operator: OperatorProcess;
  let namespace: string;

  before(async function () {
    operator = await startOperator('e2e-duplicate-burst', ['--workers=8']);
    namespace = await createNamespace('e2e-evac-burst');
    await Promise.all(GAPS_MS.map((_, i) => objects.create(vmiManifest(namespace, `vm-${i}`))));
    await Promise.all(GAPS_MS.map((_, i) => waitForRunningVmi(namespace, `vm-${i}`)));
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(operator.tail(80));
  });

  after(async function () {
    operator?.kill('SIGKILL');
    if (namespace) await deleteNamespace(namespace);
  });

  it('should let exactly one evacuation of each VMI act and refuse every other with DuplicateEvacuation', async function () {
    const originalUids = await Promise.all(
      GAPS_MS.map(async (_, i) => (await readVmi(namespace, `vm-${i}`))!.metadata!.uid!),
    );
    const names = (i: number) => Array.from({ length: PER_BURST }, (_, k) => `vm-${i}-evac-${PER_BURST - k}`);
    await Promise.all(
      GAPS_MS.map(async (gapMs, i) => {
        for (const name of names(i)) {
          await createEvacuation(namespace, name, { vmiName: `vm-${i}`, allowLiveSource: true });
          if (gapMs > 0) await sleep(gapMs);
        }
      }),
    );

    for (const [i] of GAPS_MS.entries()) {
      const settled = await eventually(
        `every evacuation of vm-${i} to be Completed or Failed`,
        async () => {
          const all = await Promise.all(names(i).map((name) => readEvacuation(namespace, name)));
          const done = all.every(
            (e) => e?.status?.phase === Phase.Completed || e?.status?.phase === Phase.Failed,
          );
          return done ? (all as InstanceEvacuation[]) : undefined;
        },
        120_000,
      );
      const summary = settled.map(
        (e) => `${e.metadata.name}: ${e.status?.phase} ${condition(e, ConditionType.Accepted)?.reason}`,
      );
      const acted = settled.filter((e) => e.status?.snapshot !== undefined);
      expect(
        acted.map((e) => e.metadata.name),
        `exactly one acted on vm-${i}:\n${summary.join('\n')}`,
      ).to.have.length(1);
      expect(acted[0]!.status?.phase, summary.join('\n')).to.equal(Phase.Completed);
      for (const loser of settled.filter((e) => e !== acted[0])) {
        expect(condition(loser, ConditionType.Accepted), loser.metadata.name).to.include({
          status: 'False',
          reason: Reason.DuplicateEvacuation,
        });
      }
      const vmi = await waitForRunningVmi(namespace, `vm-${i}`, { notUid: originalUids[i] });
      expect(vmi.metadata?.labels?.[LABEL_ORIGINAL_UID]).to.equal(originalUids[i]);
    }
  });
});
