// Starts the bed's components as detached process groups that outlive the CLI, with a pid file and
// a log each, and stops them again. A supervised component is restarted when it exits, as a
// Deployment would restart it (virt-controller exits on purpose on some changes).
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../support/poll.ts';
import { paths } from './layout.ts';

export interface ComponentSpec {
  name: string;
  command: string;
  args: string[];
  supervised?: boolean;
  env?: Record<string, string>;
}

function pidFile(name: string): string {
  return join(paths.pids, `${name}.pid`);
}

export function logFile(name: string): string {
  return join(paths.logs, `${name}.log`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function runningPid(name: string): number | undefined {
  if (!existsSync(pidFile(name))) return undefined;
  const pid = Number(readFileSync(pidFile(name), 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function start(spec: ComponentSpec): number {
  const existing = runningPid(spec.name);
  if (existing !== undefined) return existing;
  mkdirSync(paths.logs, { recursive: true });
  mkdirSync(paths.pids, { recursive: true });
  const log = openSync(logFile(spec.name), 'a');
  const commandLine = [spec.command, ...spec.args].map(shellQuote).join(' ');
  const [command, args] = spec.supervised
    ? [
        'bash',
        [
          '-c',
          `while true; do ${commandLine}; echo "bed: ${spec.name} exited with $?, restarting" >&2; sleep 1; done`,
        ],
      ]
    : [spec.command, spec.args];
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...spec.env },
  });
  closeSync(log);
  if (child.pid === undefined) throw new Error(`bed: could not start ${spec.name}`);
  child.unref();
  writeFileSync(pidFile(spec.name), `${child.pid}\n`);
  return child.pid;
}

/** Signals the component's whole process group (the supervisor and what it runs). */
export async function stop(
  name: string,
  signal: NodeJS.Signals = 'SIGTERM',
  timeoutMs = 10_000,
): Promise<void> {
  const pid = runningPid(name);
  if (pid !== undefined) {
    killGroup(pid, signal);
    const deadline = Date.now() + timeoutMs;
    while (alive(pid) && Date.now() < deadline) await sleep(50);
    if (alive(pid)) killGroup(pid, 'SIGKILL');
    while (alive(pid)) await sleep(20);
  }
  rmSync(pidFile(name), { force: true });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export function knownComponents(): string[] {
  if (!existsSync(paths.pids)) return [];
  return readdirSync(paths.pids)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => f.slice(0, -'.pid'.length));
}

/**
 * Processes of this bed that no pid file names any more (a run killed half way): every component
 * is started with paths under the bed's folder, so its command line gives it away.
 */
export function strayPids(): number[] {
  const strays: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid || pid === process.ppid) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (commandLine.includes(paths.bed + '/') && !commandLine.includes('e2e/bed/cli.ts')) strays.push(pid);
  }
  return strays;
}

export async function killStrays(): Promise<number> {
  const strays = strayPids();
  for (const pid of strays) killGroup(pid, 'SIGKILL');
  for (const pid of strays) while (alive(pid)) await sleep(20);
  return strays.length;
}
