// The bed drives its cluster with the kubectl it built, as a person would.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { paths } from './layout.ts';

export interface KubectlResult {
  stdout: string;
  stderr: string;
}

export function kubectl(
  args: string[],
  input?: string,
  kubeconfig = paths.kubeconfig,
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(paths.bin, 'kubectl'),
      ['--kubeconfig', kubeconfig, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`kubectl ${args.join(' ')}: ${stderr.trim() || error.message}`));
        else resolve({ stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

export async function kubectlJson<T = unknown>(args: string[]): Promise<T> {
  const { stdout } = await kubectl([...args, '-o', 'json']);
  return JSON.parse(stdout) as T;
}

export async function applyServerSide(yaml: string): Promise<void> {
  await kubectl(
    ['apply', '--server-side', '--force-conflicts', '--field-manager=evacuator-bed', '-f', '-'],
    yaml,
  );
}

/** Polls until `check` returns a value (not undefined), or throws naming what was awaited. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`bed: timed out after ${timeoutMs / 1000} s waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
