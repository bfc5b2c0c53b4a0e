// Crashing the operator at a chosen point: SIGKILL as soon as it logs a given line (read from its
// output as it arrives, not polled), so a spec can stop it right after it started an action.
import type { LogLine, OperatorProcess } from './operator-process.ts';

const matches = (line: LogLine, msg: string, fields: Record<string, unknown>) =>
  line.msg === msg && Object.entries(fields).every(([k, v]) => line[k] === v);

/**
 * SIGKILLs `operator` on the first log line with `msg` and `fields` (e.g. `applying` with
 * `{ action: 'DeletePod', vmi: 'db' }`) and resolves with that line once the process has exited.
 * Rejects when the process exits without logging it, or after `timeoutMs`.
 */
export function killOnLog(
  operator: OperatorProcess,
  msg: string,
  fields: Record<string, unknown>,
  timeoutMs = 90_000,
): Promise<LogLine> {
  const what = `${operator.identity} to log "${msg}" ${JSON.stringify(fields)}`;
  return new Promise<LogLine>((resolve, reject) => {
    let hit: LogLine | undefined;
    let settled = false;
    const cleanups: (() => void)[] = [];
    function settle(error?: Error): void {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups) cleanup();
      if (error) reject(error);
      else void operator.exited.then(() => resolve(hit!));
    }
    function onLine(text: string): void {
      if (hit) return;
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      if (!matches(line, msg, fields)) return;
      hit = line;
      operator.kill('SIGKILL');
      settle();
    }

    const earlier = operator.logs.find((l) => matches(l, msg, fields));
    if (earlier) {
      hit = earlier;
      operator.kill('SIGKILL');
      settle();
      return;
    }
    // Raw 'data' listeners beside the process's own line reader (a second readline would pause
    // the stream when closed).
    for (const stream of [operator.child.stdout!, operator.child.stderr!]) {
      let partial = '';
      const listener = (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      };
      stream.on('data', listener);
      cleanups.push(() => stream.off('data', listener));
    }
    const timer = setTimeout(
      () => settle(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)),
      timeoutMs,
    );
    cleanups.push(() => clearTimeout(timer));
    void operator.exited.then((exit) => {
      if (!hit) settle(new Error(`${operator.identity} exited (${JSON.stringify(exit)}) before ${what}`));
    });
  });
}
