// Small helpers the e2e specs share: API clients, polling with explicit timeouts (poll.ts), raw
// requests (subresources), and unique names so specs never see each other's objects.
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

export { consistently, eventually, GiveUp } from './poll.ts';

export const testCluster = cluster();
export const kc: KubeConfig = testCluster.kubeConfig();
export const core = kc.makeApiClient(CoreV1Api);
export const storage = kc.makeApiClient(StorageV1Api);
export const objects = KubernetesObjectApi.makeApiClient(kc);

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
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
