// make demo: the local cluster, the operator, and a VM evacuated from a failed node, live and
// narrated. It leaves the bed up with running VMs and the operator running, for you to try more.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { failNode, recoverNode, up } from './bed/bed.ts';
import { paths, repoRoot } from './bed/layout.ts';
import { logFile, start, stop } from './bed/processes.ts';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string) => console.log(`\n${bold('==> ' + s)}`);
const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function kubectl(...args: string[]): string {
  return execFileSync(join(paths.bin, 'kubectl'), ['--kubeconfig', paths.kubeconfig, ...args], {
    encoding: 'utf8',
  });
}

function show(...args: string[]): void {
  console.log(`$ kubectl ${args.join(' ')}`);
  console.log(kubectl(...args).trimEnd());
}

const demoEvacuation = (name: string, vmi: string) => `apiVersion: evacuator.dev/v1alpha1
kind: InstanceEvacuation
metadata:
  name: ${name}
  namespace: demo
spec:
  vmiName: ${vmi}
  reason: "make demo: ${'$'}{node} died"
`;

async function main(): Promise<void> {
  say('Bringing up the local test bed (real Kubernetes and KubeVirt control planes, kwok nodes)');
  await up(3);

  // The support modules read the bed's kubeconfig when loaded: only now does it exist.
  const { core, objects, eventually } = await import('./support/kube.ts');
  const { installOperator } = await import('./support/evacuator.ts');
  const kv = await import('./support/kubevirt.ts');
  const { addTaint, removeTaint, outOfServiceTaint, readyStatus } = await import('./support/nodes.ts');
  const { waitForPhase } = await import('./support/evacuation.ts');

  say('Installing the operator: its CRD and least-privilege RBAC (deploy/), running as its ServiceAccount');
  const operatorKubeconfig = await installOperator();
  await stop('operator');
  start({
    name: 'operator',
    command: process.execPath,
    args: [
      join(repoRoot, 'src', 'cmd', 'operator.ts'),
      `--kubeconfig=${operatorKubeconfig}`,
      '--workers=4',
      '--recheck-period=5s',
      '--metrics-bind-address=127.0.0.1:18080',
      '--health-probe-bind-address=127.0.0.1:18081',
      '--leader-elect',
      '--leader-election-namespace=kubevirt-evacuator',
    ],
    env: { POD_NAME: 'demo-operator' },
  });
  console.log(`operator log: ${logFile('operator')}; metrics: http://127.0.0.1:18080/metrics`);

  say(
    'Creating a VirtualMachine (runStrategy Always) and a standalone VMI with a PVC and a Multus NIC, on one node',
  );
  try {
    await core.deleteNamespace({ name: 'demo' });
    await eventually(
      'the previous demo namespace to go',
      async () => ((await core.readNamespace({ name: 'demo' }).catch(() => undefined)) ? undefined : true),
      120_000,
    );
  } catch {
    // no earlier demo
  }
  const namespace = 'demo';
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  const nodes = ['bed-node-1', 'bed-node-2', 'bed-node-3'];
  const victim = 'bed-node-1';
  for (const n of nodes.filter((n) => n !== victim)) kubectl('cordon', n);
  try {
    await kv.createPvc(namespace, 'db-data');
    await kv.createNetworkAttachmentDefinition(namespace, 'storage-net');
    await objects.create(kv.vmManifest(namespace, 'web', 'Always'));
    await objects.create(
      kv.vmiManifest(namespace, 'db', {
        pvc: 'db-data',
        multus: { network: 'storage-net', mac: '02:de:00:00:00:01' },
        labels: { tier: 'db' },
      }),
    );
    await kv.waitForRunningVmi(namespace, 'web');
    await kv.waitForRunningVmi(namespace, 'db');
  } finally {
    // The bed is the user's afterwards: never leave it cordoned.
    for (const n of nodes.filter((n) => n !== victim)) kubectl('uncordon', n);
  }
  show('-n', namespace, 'get', 'vm,vmi', '-o', 'wide');
  show(
    '-n',
    namespace,
    'get',
    'vmi',
    'db',
    '-o',
    'jsonpath={range .status.interfaces[*]}{.name}{"\\t"}{.mac}{"\\n"}{end}',
  );

  say(`The machine ${victim} dies (its kubelet and virt-handler stop mid-flight)`);
  const failedAt = Date.now();
  await failNode(victim);
  await eventually(
    `${victim} NotReady`,
    async () => (readyStatus(await core.readNode({ name: victim })) !== 'True' ? true : undefined),
    120_000,
  );
  console.log(
    `${victim} turned NotReady after ${elapsed(failedAt)}. KubeVirt alone keeps the VMIs "Running" there forever:`,
  );
  show('-n', namespace, 'get', 'vmi', '-o', 'wide');

  say('An admin asks for the evacuations (kubectl apply)');
  for (const [name, vmi] of [
    ['web-evac', 'web'],
    ['db-evac', 'db'],
  ] as const) {
    const manifest = demoEvacuation(name, vmi).replace('${node}', victim);
    console.log(manifest);
    const file = join(paths.bed, `${name}.yaml`);
    writeFileSync(file, manifest);
    kubectl('apply', '-f', file);
  }
  await waitForPhase(namespace, 'db-evac', 'Fencing');
  show('-n', namespace, 'get', 'instanceevacuations');
  show(
    '-n',
    namespace,
    'get',
    'evac',
    'db-evac',
    '-o',
    'jsonpath={range .status.conditions[*]}{.type}={.status} {.reason}: {.message}{"\\n"}{end}',
  );

  say(`Fencing: the node is confirmed off, and tainted ${outOfServiceTaint.key}`);
  const fencedAt = Date.now();
  await addTaint(victim, outOfServiceTaint);
  await waitForPhase(namespace, 'web-evac', 'Rebuilt');
  await waitForPhase(namespace, 'db-evac', 'Rebuilt');
  console.log(`Both rebuilt and Running elsewhere ${elapsed(fencedAt)} after fencing:`);
  show('-n', namespace, 'get', 'evac,vmi', '-o', 'wide');
  show(
    '-n',
    namespace,
    'get',
    'vmi',
    'db',
    '-o',
    'jsonpath={.metadata.labels}{"\\n"}{range .status.interfaces[*]}{.name}{"\\t"}{.mac}{"\\n"}{end}',
  );

  say(`${victim} is repaired and rejoins; the evacuations verify its stale copies are gone and complete`);
  await removeTaint(victim, outOfServiceTaint.key);
  await recoverNode(victim);
  await waitForPhase(namespace, 'web-evac', 'Completed', 180_000);
  await waitForPhase(namespace, 'db-evac', 'Completed', 180_000);
  show('-n', namespace, 'get', 'evac', '-o', 'wide');
  show('-n', namespace, 'get', 'events', '--field-selector', 'involvedObject.name=db-evac');

  say('The bed is yours');
  console.log(`  export KUBECONFIG=${paths.kubeconfig} PATH=${paths.bin}:$PATH
  kubectl get nodes; kubectl -n demo get vm,vmi,evac -o wide
  npm run bed -- fail-node bed-node-2          # kill a machine
  kubectl annotate node bed-node-2 evacuator.dev/fenced=true   # or fence it
  kubectl apply -f ${join(paths.bed, 'web-evac.yaml')}   # (rename it) evacuate again
  tail -f ${logFile('operator')}
  make bed-down                                 # stop everything`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
