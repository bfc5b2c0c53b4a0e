// `npm run bed -- <verb>`: the local test bed's command line (the e2e tests use it too).
import { z } from 'zod';
import { down, failNode, recoverNode, restartApiserver, status, up } from './bed.ts';
import { bedDir } from './layout.ts';

const usage = `usage: npm run bed -- <verb>
  up [--nodes N]        start the bed (default 3 nodes); idempotent, cleans up a bed left by a killed run
  down                  stop every process of the bed
  status                show components and nodes
  dir                   print the bed's folder (kubeconfig, bin/ and logs/ are in it)
  fail-node NAME        kill the node's kubelet and node agent, as if the machine died
  recover-node NAME     start them again: the node rejoins
  restart apiserver     restart kube-apiserver`;

const nodeNameSchema = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a node name such as bed-node-1');
const nodeCountSchema = z.coerce.number().int().min(1).max(50);

async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'up': {
      let nodes = 3;
      if (rest[0] === '--nodes') {
        const parsed = nodeCountSchema.safeParse(rest[1]);
        if (!parsed.success)
          throw new Error(`--nodes: expected a whole number from 1 to 50, got ${JSON.stringify(rest[1])}`);
        nodes = parsed.data;
      } else if (rest.length > 0) throw new Error(`up: unexpected ${rest.join(' ')}\n${usage}`);
      await up(nodes);
      return;
    }
    case 'down':
      await down();
      return;
    case 'status':
      console.log(await status());
      return;
    case 'dir':
      console.log(bedDir);
      return;
    case 'fail-node':
    case 'recover-node': {
      const parsed = nodeNameSchema.safeParse(rest[0]);
      if (!parsed.success)
        throw new Error(
          `${verb}: expected ${parsed.error.issues[0]?.message}, got ${JSON.stringify(rest[0])}`,
        );
      await (verb === 'fail-node' ? failNode(parsed.data) : recoverNode(parsed.data));
      return;
    }
    case 'restart':
      if (rest[0] !== 'apiserver') throw new Error(`restart: only "apiserver" can be restarted\n${usage}`);
      await restartApiserver();
      return;
    default:
      throw new Error(verb ? `unknown verb ${JSON.stringify(verb)}\n${usage}` : usage);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
