// The command lines of the bed's real control planes. Flags follow what kubeadm and KubeVirt's
// operator set, shortened where a test bed wants speed (node failure noticed in seconds).
import { join } from 'node:path';
import type { BedPki } from './pki.ts';
import { apiserverUrl, hostNetwork, paths, ports } from './layout.ts';
import type { ComponentSpec } from './processes.ts';

const bin = (name: string) => join(paths.bin, name);
const kubeconfigFor = (identity: string) => join(paths.config, `${identity}.kubeconfig`);
export { kubeconfigFor };

/** How long a silent node keeps its Ready condition: node-monitor-grace-period. */
export const nodeMonitorGraceSeconds = 10;
/** kwok's node lease: short, so that a recovered node's new kwok can take its lease over soon. */
export const nodeLeaseSeconds = 10;

export function etcd(): ComponentSpec {
  return {
    name: 'etcd',
    command: bin('etcd'),
    args: [
      '--name=bed',
      `--data-dir=${paths.etcdData}`,
      `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
      `--initial-cluster=bed=http://127.0.0.1:${ports.etcdPeer}`,
      '--unsafe-no-fsync',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ],
  };
}

export function kubeApiserver(pki: BedPki): ComponentSpec {
  return {
    name: 'kube-apiserver',
    command: bin('kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
      '--bind-address=127.0.0.1',
      `--advertise-address=${hostNetwork.hostAddress}`,
      `--secure-port=${ports.apiserver}`,
      '--endpoint-reconciler-type=none',
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      '--service-cluster-ip-range=10.96.0.0/16',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--api-audiences=https://kubernetes.default.svc',
      // Front-proxy: aggregated API servers (virt-api's subresources) and webhooks trust these.
      `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
      `--proxy-client-key-file=${pki.frontProxyClient.key}`,
      '--enable-aggregator-routing=true',
      '--profiling=false',
      '--v=1',
    ],
  };
}

export function kubeControllerManager(pki: BedPki): ComponentSpec {
  return {
    name: 'kube-controller-manager',
    command: bin('kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfigFor('kube-controller-manager')}`,
      `--authentication-kubeconfig=${kubeconfigFor('kube-controller-manager')}`,
      `--authorization-kubeconfig=${kubeconfigFor('kube-controller-manager')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      '--leader-elect=false',
      '--controllers=*,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller,-node-ipam-controller',
      `--node-monitor-grace-period=${nodeMonitorGraceSeconds}s`,
      '--node-monitor-period=2s',
      `--root-ca-file=${pki.ca.cert}`,
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      '--use-service-account-credentials=true',
      '--terminated-pod-gc-threshold=100',
      '--concurrent-gc-syncs=5',
      '--v=1',
    ],
  };
}

export function kubeScheduler(): ComponentSpec {
  return {
    name: 'kube-scheduler',
    command: bin('kube-scheduler'),
    args: [
      `--kubeconfig=${kubeconfigFor('kube-scheduler')}`,
      `--authentication-kubeconfig=${kubeconfigFor('kube-scheduler')}`,
      `--authorization-kubeconfig=${kubeconfigFor('kube-scheduler')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      '--leader-elect=false',
      '--v=1',
    ],
  };
}

export function virtApi(pki: BedPki): ComponentSpec {
  return {
    name: 'virt-api',
    command: bin('virt-api'),
    supervised: true,
    args: [
      `--kubeconfig=${kubeconfigFor('virt-api')}`,
      `--listen=${hostNetwork.hostAddress}`,
      `--port=${ports.virtApi}`,
      `--tls-cert-file=${pki.virtApi.cert}`,
      `--tls-key-file=${pki.virtApi.key}`,
      `--handler-cert-file=${pki.virtHandlerClient.cert}`,
      `--handler-key-file=${pki.virtHandlerClient.key}`,
      '--subresources-only=false',
    ],
  };
}

export function virtController(pki: BedPki): ComponentSpec {
  return {
    name: 'virt-controller',
    command: bin('virt-controller'),
    supervised: true,
    args: [
      `--kubeconfig=${kubeconfigFor('kubevirt-controller')}`,
      '--launcher-image=quay.io/kubevirt/virt-launcher:v1.8.0',
      '--exporter-image=quay.io/kubevirt/virt-exportserver:v1.8.0',
      '--listen=127.0.0.1',
      `--port=${ports.virtController}`,
      `--prom-cert-file=${pki.virtApi.cert}`,
      `--prom-key-file=${pki.virtApi.key}`,
    ],
  };
}

export { apiserverUrl };
