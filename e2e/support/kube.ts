// Small helpers the e2e specs share: API clients, polling with explicit timeouts, raw requests
// (subresources), and unique names so specs never see each other's objects.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { randomBytes } from 'node:crypto';
import {
  CoreV1Api,
  KubernetesObjectApi,
  StorageV1Api,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { cluster } from './cluster.ts';

export const testCluster = cluster();
export const kc: KubeConfig = testCluster.kubeConfig();
export const core = kc.makeApiClient(CoreV1Api);
export const storage = kc.makeApiClient(StorageV1Api);
export const objects = KubernetesObjectApi.makeApiClient(kc);

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Thrown from an `eventually` check: stop waiting at once, this will never come true. */
export class GiveUp extends Error {}

/** Polls `check` until it returns a value other than undefined; fails naming what was awaited. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${detail}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export interface RawResponse {
  statusCode: number;
  body: string;
}

/** A request to any API path, e.g. KubeVirt's subresources, with the kubeconfig's credentials. */
export async function rawRequest(method: string, path: string, body?: unknown): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const options: RequestOptions = { method, headers: { 'content-type': 'application/json' } };
  await kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(new URL(path, server), options, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ statusCode: response.statusCode ?? 0, body: text }));
    });
    request.on('error', reject);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export async function readOrUndefined<T extends KubernetesObject>(header: T): Promise<T | undefined> {
  try {
    return (await objects.read(header as never)) as T;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

export async function createNamespace(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await core.createNamespace({ body: { metadata: { name, labels: { 'evacuator.dev/e2e': 'true' } } } });
  return name;
}

export async function deleteNamespace(name: string): Promise<void> {
  await core.deleteNamespace({ name }).catch(() => undefined);
}

/** Asserts `check` keeps holding for `durationMs`: for what must NOT happen (a pod that stays). */
export async function consistently(
  what: string,
  check: () => Promise<boolean>,
  durationMs: number,
  intervalMs = 500,
): Promise<void> {
  const deadline = Date.now() + durationMs;
  while (Date.now() < deadline) {
    if (!(await check()))
      throw new Error(`expected ${what} for ${durationMs / 1000} s, but it stopped holding`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
