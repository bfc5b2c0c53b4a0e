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
