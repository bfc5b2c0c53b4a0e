// `make bench` (node bench/run.ts [options]): the evacuation benchmark. Brings up its own bed (BED_ID
// from the environment, so bed 0 by default), runs the operator and the floor script side by side for
// each size, writes bench/results/evacuation.{md,json}, and tears the bed down.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { down, up } from '../e2e/bed/bed.ts';
import { repoRoot } from '../e2e/bed/layout.ts';
import { markdown, type Results } from './report.ts';
import type { Mode, RoundResult } from './scenario.ts';

const usage = `usage: node bench/run.ts [options]   (make bench ARGS='...')
  --sizes 1,10,100        VMIs per round (default 1,10,100)
  --modes operator,floor  which rounds to run for each size (default both)
  --workers N             the operator's --workers (default 8)
  --nodes N               bed nodes: one source, the rest take the replacements (default 3)
  --timeout S             seconds every replacement may take to be Running (default 300)
  --out DIR               where evacuation.md and evacuation.json go (default bench/results)
  --log-level LEVEL       the operator's --log-level (default info)
  --operator-logs DIR     write each operator round's log there
  --keep-bed              leave the bed up afterwards`;

interface Options {
  sizes: number[];
  modes: Mode[];
  workers: number;
  nodes: number;
  timeoutMs: number;
  out: string;
  keepBed: boolean;
  logLevel: string;
  operatorLogDir: string | undefined;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new Error(`--${flag}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  return n;
}

function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '1,10,100' },
      modes: { type: 'string', default: 'operator,floor' },
      workers: { type: 'string', default: '8' },
      nodes: { type: 'string', default: '3' },
      timeout: { type: 'string', default: '300' },
      out: { type: 'string', default: join(repoRoot, 'bench', 'results') },
      'keep-bed': { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'info' },
      'operator-logs': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const sizes = values.sizes.split(',').map((s) => wholeNumber('sizes', s.trim(), 1, 105));
  const modes = values.modes.split(',').map((m) => m.trim());
  for (const m of modes)
    if (m !== 'operator' && m !== 'floor')
      throw new Error(`--modes: expected operator and/or floor, got ${JSON.stringify(m)}`);
  return {
    sizes,
    modes: modes as Mode[],
    workers: wholeNumber('workers', values.workers, 1, 64),
    nodes: wholeNumber('nodes', values.nodes, 2, 50),
    timeoutMs: wholeNumber('timeout', values.timeout, 10, 3600) * 1000,
    out: values.out,
    keepBed: values['keep-bed'],
    logLevel: values['log-level'],
    operatorLogDir: values['operator-logs'],
  };
}

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function goModuleVersion(dir: string, module: string): string {
  const goMod = readFileSync(join(repoRoot, 'e2e', 'bed', 'go', dir, 'go.mod'), 'utf8');
  return new RegExp(`${module.replace(/\./g, '\\.')} (v\\S+)`).exec(goMod)?.[1] ?? 'unknown';
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  if (!options) {
    console.log(usage);
    return;
  }
  const started = performance.now();
  const loadBefore = loadavg()[0]!;
  const bedId = process.env.BED_ID ?? '0';
  console.error(`bench: bringing up bed ${bedId} with ${options.nodes} nodes`);
  await up(options.nodes);
  const rounds: RoundResult[] = [];
  const failures: Results['failures'] = [];
  let kubernetes = 'unknown';
  try {
    // Loaded now: these modules read the bed's kubeconfig as they load.
    const { runRound, serverVersion } = await import('./scenario.ts');
    kubernetes = await serverVersion();
    for (const size of options.sizes) {
      for (const mode of options.modes) {
        const roundStarted = performance.now();
        try {
          rounds.push(
            await runRound({
              size,
              mode,
              workers: options.workers,
              timeoutMs: options.timeoutMs,
              operatorLogLevel: options.logLevel,
              ...(options.operatorLogDir ? { operatorLogDir: options.operatorLogDir } : {}),
            }),
          );
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          console.error(`bench: ${mode} ${size} failed: ${message}`);
          failures.push({ size, mode, error: message });
        }
        console.error(
          `bench: round ${mode} ${size} took ${((performance.now() - roundStarted) / 1000).toFixed(0)} s`,
        );
      }
    }
  } finally {
    if (!options.keepBed) await down();
  }
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  const results: Results = {
    environment: {
      date: new Date().toISOString(),
      commit: `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (with local changes)' : ''}`,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}`,
      loadAverage: `${loadBefore.toFixed(1)} before the run, ${loadavg()[0]!.toFixed(1)} after (1-minute load average)`,
      node: process.version,
      kubernetes,
      kubevirt: goModuleVersion('kubevirt', 'kubevirt.io/kubevirt'),
      bedNodes: options.nodes,
      operatorWorkers: options.workers,
      operatorLogLevel: options.logLevel,
      wallSeconds: (performance.now() - started) / 1000,
      command: `make bench${argv.length > 0 ? ` ARGS='${argv.join(' ')}'` : ''}`,
    },
    rounds,
    failures,
  };
  mkdirSync(options.out, { recursive: true });
  // Formatted as `prettier --check .` expects of a committed file.
  const jsonFile = join(options.out, 'evacuation.json');
  const prettierOptions = { ...(await resolveConfig(jsonFile)), filepath: jsonFile };
  writeFileSync(jsonFile, await format(JSON.stringify(results, null, 2), prettierOptions));
  const report = markdown(results);
  writeFileSync(join(options.out, 'evacuation.md'), report);
  console.log(report);
  if (failures.length > 0) process.exitCode = 1;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
