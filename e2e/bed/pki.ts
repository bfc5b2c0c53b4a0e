// The bed's certificates, made with openssl: a cluster CA (API server serving and client certs,
// virt-api serving cert), a front-proxy CA (aggregated API servers and webhooks trust it), and the
// service-account signing key. Identities are client certs: CN = user, O = groups.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostNetwork, paths } from './layout.ts';

export interface CertPair {
  cert: string;
  key: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(name: string, commonName: string): CertPair {
  const pair = { cert: join(paths.pki, `${name}.crt`), key: join(paths.pki, `${name}.key`) };
  if (!existsSync(pair.cert)) {
    openssl(
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pair.key, '-out', pair.cert].concat([
        '-days',
        '3650',
        '-subj',
        `/CN=${commonName}`,
      ]),
    );
  }
  return pair;
}

interface LeafOptions {
  commonName: string;
  organizations?: string[];
  ipAddresses?: string[];
  dnsNames?: string[];
  usage: 'server' | 'client' | 'both';
}

function makeLeaf(name: string, ca: CertPair, options: LeafOptions): CertPair {
  const pair = { cert: join(paths.pki, `${name}.crt`), key: join(paths.pki, `${name}.key`) };
  if (existsSync(pair.cert)) return pair;
  const subject = [`/CN=${options.commonName}`, ...(options.organizations ?? []).map((o) => `/O=${o}`)].join(
    '',
  );
  const csr = join(paths.pki, `${name}.csr`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', pair.key, '-out', csr, '-subj', subject]);
  const extendedUsage = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[
    options.usage
  ];
  const altNames = [
    ...(options.ipAddresses ?? []).map((ip) => `IP:${ip}`),
    ...(options.dnsNames ?? []).map((dns) => `DNS:${dns}`),
  ];
  const extensions = [
    'basicConstraints=CA:FALSE',
    'keyUsage=digitalSignature,keyEncipherment',
    `extendedKeyUsage=${extendedUsage}`,
    ...(altNames.length > 0 ? [`subjectAltName=${altNames.join(',')}`] : []),
  ];
  const extFile = join(paths.pki, `${name}.ext`);
  writeFileSync(extFile, extensions.join('\n') + '\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-out',
      pair.cert,
    ].concat(['-days', '3650', '-extfile', extFile]),
  );
  return pair;
}

export interface BedPki {
  ca: CertPair;
  frontProxyCa: CertPair;
  apiserver: CertPair;
  frontProxyClient: CertPair;
  admin: CertPair;
  controllerManager: CertPair;
  scheduler: CertPair;
  virtController: CertPair;
  virtApi: CertPair;
  virtHandlerClient: CertPair;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

/** Creates whatever is missing; an existing bed keeps its certificates across restarts. */
export function ensurePki(): BedPki {
  mkdirSync(paths.pki, { recursive: true });
  const ca = makeCa('ca', 'evacuator-bed-ca');
  const frontProxyCa = makeCa('front-proxy-ca', 'evacuator-bed-front-proxy-ca');
  const serviceAccountKey = join(paths.pki, 'sa.key');
  const serviceAccountPub = join(paths.pki, 'sa.pub');
  if (!existsSync(serviceAccountPub)) {
    openssl(['genrsa', '-out', serviceAccountKey, '2048']);
    openssl(['rsa', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]);
  }
  return {
    ca,
    frontProxyCa,
    serviceAccountKey,
    serviceAccountPub,
    apiserver: makeLeaf('apiserver', ca, {
      commonName: 'kube-apiserver',
      ipAddresses: ['127.0.0.1', '10.96.0.1'],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      usage: 'server',
    }),
    frontProxyClient: makeLeaf('front-proxy-client', frontProxyCa, {
      commonName: 'front-proxy-client',
      usage: 'client',
    }),
    admin: makeLeaf('admin', ca, {
      commonName: 'bed-admin',
      organizations: ['system:masters'],
      usage: 'client',
    }),
    controllerManager: makeLeaf('kube-controller-manager', ca, {
      commonName: 'system:kube-controller-manager',
      usage: 'client',
    }),
    scheduler: makeLeaf('kube-scheduler', ca, { commonName: 'system:kube-scheduler', usage: 'client' }),
    // KubeVirt only accepts VMI status writes from its own service accounts: these certs carry
    // exactly those user names, so RBAC and virt-api's webhooks treat them as the real thing.
    virtController: makeLeaf('kubevirt-controller', ca, {
      commonName: 'system:serviceaccount:kubevirt:kubevirt-controller',
      organizations: ['system:serviceaccounts', 'system:serviceaccounts:kubevirt'],
      usage: 'client',
    }),
    virtApi: makeLeaf('virt-api', ca, {
      commonName: 'virt-api',
      ipAddresses: [hostNetwork.hostAddress, '127.0.0.1'],
      dnsNames: ['virt-api.kubevirt.svc', 'virt-api.kubevirt.svc.cluster.local'],
      usage: 'both',
    }),
    virtHandlerClient: makeLeaf('virt-handler-client', ca, {
      commonName: 'kubevirt.io:system:client:virt-handler',
      usage: 'client',
    }),
  };
}

/** A kubeconfig for one identity, talking to the bed's API server. */
export function writeKubeconfig(
  file: string,
  server: string,
  ca: string,
  identity: CertPair,
  user: string,
): void {
  const content = `apiVersion: v1
kind: Config
clusters:
- name: bed
  cluster:
    server: ${server}
    certificate-authority: ${ca}
users:
- name: ${user}
  user:
    client-certificate: ${identity.cert}
    client-key: ${identity.key}
contexts:
- name: bed
  context:
    cluster: bed
    user: ${user}
current-context: bed
`;
  writeFileSync(file, content);
}
