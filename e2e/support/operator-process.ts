// The real operator as a child process (`node src/cmd/operator.ts`), for what only a process shows:
// leader election between replicas, signals, exit codes, memory. Its endpoints bind to port 0 and
// the bound ports are read from its "serving" log lines, so parallel beds never collide.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { repoRoot } from '../bed/layout.ts';
import { eventually } from './poll.ts';
import { scrape, type Scrape } from './prometheus.ts';

export interface LogLine {
  ts?: string;
  level?: string;
  msg?: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the exit was seen. */
  at: number;
}

export interface OperatorProcessOptions {
  /** The lease identity (POD_NAME) and the name in failure reports. */
  identity: string;
  kubeconfigPath: string;
  /** Leader election on this namespace/lease; none when unset. */
  leaderElection?: { namespace: string; lease: string };
  /** More flags, e.g. `--graceful-shutdown-timeout=10s`. */
  args?: string[];
}

const running = new Set<OperatorProcess>();

export class OperatorProcess {
  readonly identity: string;
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  /** Lines that were not JSON (stack traces, Node warnings). */
  readonly rawOutput: string[] = [];
  readonly exited: Promise<Exit>;
  readonly startedAt = Date.now();
  #exit: Exit | undefined;

  constructor(options: OperatorProcessOptions) {
    this.identity = options.identity;
    const args = [
      join(repoRoot, 'src', 'cmd', 'operator.ts'),
      `--kubeconfig=${options.kubeconfigPath}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--health-probe-bind-address=127.0.0.1:0',
      '--log-level=debug',
    ];
    if (options.leaderElection) {
      args.push(
        '--leader-elect',
        `--leader-election-namespace=${options.leaderElection.namespace}`,
        `--leader-election-id=${options.leaderElection.lease}`,
      );
    }
    args.push(...(options.args ?? []));
    this.child = spawn(process.execPath, args, {
      env: { ...process.env, POD_NAME: options.identity },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(this);
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      createInterface(stream).on('line', (line) => {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.rawOutput.push(line);
        }
      });
    }
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this);
        this.#exit = { code, signal, at: Date.now() };
        resolve(this.#exit);
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** The first log line with this message (and these fields), waiting for it. */
  waitForLog(msg: string, timeoutMs = 30_000, fields: Record<string, unknown> = {}): Promise<LogLine> {
    return eventually(
      `${this.identity} to log "${msg}"`,
      () => {
        const line = this.logs.find(
          (l) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v),
        );
        if (line) return line;
        if (this.#exit) throw new Error(`${this.identity} exited: ${JSON.stringify(this.#exit)}`);
        return undefined;
      },
      timeoutMs,
      100,
    );
  }

  /** The ports /metrics and /healthz+/readyz bound to. */
  async ports(timeoutMs = 30_000): Promise<{ metrics: number; health: number }> {
    return eventually(
      `${this.identity} to serve /metrics and /readyz`,
      () => {
        const serving = this.logs.filter((l) => l.msg === 'serving');
        const portOf = (path: string) => {
          const line = serving.find((l) => (l.paths as string[] | undefined)?.includes(path));
          return line ? Number(String(line.address).split(':').pop()) : undefined;
        };
        const metrics = portOf('/metrics');
        const health = portOf('/readyz');
        return metrics && health ? { metrics, health } : undefined;
      },
      timeoutMs,
      100,
    );
  }

  async scrape(): Promise<Scrape> {
    return scrape(`http://127.0.0.1:${(await this.ports()).metrics}/metrics`);
  }

  async probe(path: '/healthz' | '/readyz'): Promise<{ status: number; body: string }> {
    const response = await fetch(`http://127.0.0.1:${(await this.ports()).health}${path}?verbose`);
    return { status: response.status, body: await response.text() };
  }

  /** leader_election_master_status for `lease` as this process reports it. */
  async leaderStatus(lease: string): Promise<number> {
    return (await this.scrape()).value('leader_election_master_status', { name: lease });
  }

  /** VmRSS from /proc (Linux), in bytes. */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (!m) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(m[1]) * 1024;
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.#exit) this.child.kill(signal);
  }

  /** The last lines of its log, for a failure report. */
  tail(lines = 40): string {
    const all = [...this.logs.map((l) => JSON.stringify(l)), ...this.rawOutput];
    return `--- ${this.identity} (pid ${this.child.pid}, exit ${JSON.stringify(this.#exit ?? null)}) ---\n${all.slice(-lines).join('\n')}`;
  }
}

/** SIGKILLs every operator process still running and waits for them to exit (after hooks). */
export async function killAllOperators(): Promise<void> {
  const all = [...running];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exited));
}
