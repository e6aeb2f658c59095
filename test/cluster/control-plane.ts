import { join } from 'node:path';
import { binaryPath } from './build';
import type { Pki } from './certs';
import { etcd, kubernetes, kwok } from './components';
import type { ClusterConfig } from './config';
import type { ProcessSpec } from './processes';
import { nodeNetwork } from './real-node-network';

/** Files the processes read, all under the state folder. */
export interface ControlPlaneFiles {
  readonly pki: Pki;
  readonly etcdData: string;
  readonly controllerManagerKubeconfig: string;
  readonly schedulerKubeconfig: string;
  readonly kwokKubeconfig: string;
  /** kwok configuration: Stage and ClusterLogs documents. */
  readonly kwokConfig: string;
}

/** Annotation kwok manages nodes by. */
export const fakeNodeAnnotation = 'kwok.x-k8s.io/node';

/** Layout of files in the state folder. */
export function controlPlaneFiles(config: ClusterConfig, pki: Pki): ControlPlaneFiles {
  const dir = config.stateDir;
  return {
    pki,
    etcdData: join(dir, 'etcd'),
    controllerManagerKubeconfig: join(dir, 'kube-controller-manager.kubeconfig'),
    schedulerKubeconfig: join(dir, 'kube-scheduler.kubeconfig'),
    kwokKubeconfig: join(dir, 'kwok.kubeconfig'),
    kwokConfig: join(dir, 'kwok', 'kwok.yaml'),
  };
}

/** URL of the API server. */
export function apiserverUrl(config: ClusterConfig): string {
  return `https://127.0.0.1:${config.ports.apiserver}`;
}

/** etcd: one member, no fsync (test data only), client and peer on 127.0.0.1. */
export function etcdProcess(config: ClusterConfig, files: ControlPlaneFiles): ProcessSpec {
  const client = `http://127.0.0.1:${config.ports.etcdClient}`;
  const peer = `http://127.0.0.1:${config.ports.etcdPeer}`;
  return {
    name: 'etcd',
    binary: binaryPath(etcd, 'etcd'),
    args: [
      '--name=hks',
      `--data-dir=${files.etcdData}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=hks=${peer}`,
      '--unsafe-no-fsync',
      '--quota-backend-bytes=2147483648',
      '--log-level=warn',
    ],
  };
}

/**
 * kube-apiserver as a real cluster runs it: Node and RBAC authorization, the default
 * admission plugins (PodSecurity, ServiceAccount, ...) plus NodeRestriction, bound
 * service account tokens (TokenRequest), and the kubelet API (kwok) for pod logs.
 * PodNodeSelector and PodTolerationRestriction let a test put a namespace's pods on the real
 * node by annotating the namespace (they change nothing for namespaces without annotations).
 *
 * @param realNode with the real node, it listens on every address (the node and its pods
 *   reach it at the host's end of the node's link) and advertises that address
 */
export function apiserverProcess(
  config: ClusterConfig,
  files: ControlPlaneFiles,
  realNode = false,
): ProcessSpec {
  const { pki } = files;
  return {
    name: 'kube-apiserver',
    binary: binaryPath(kubernetes, 'kube-apiserver'),
    args: [
      `--etcd-servers=http://127.0.0.1:${config.ports.etcdClient}`,
      `--bind-address=${realNode ? '0.0.0.0' : '127.0.0.1'}`,
      `--advertise-address=${realNode ? nodeNetwork.hostIp : '127.0.0.1'}`,
      `--secure-port=${config.ports.apiserver}`,
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction,PodNodeSelector,PodTolerationRestriction',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.serviceAccount.pub}`,
      `--service-account-signing-key-file=${pki.serviceAccount.key}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--allow-privileged=true',
      `--kubelet-client-certificate=${pki.apiserverKubeletClient.cert}`,
      `--kubelet-client-key=${pki.apiserverKubeletClient.key}`,
      `--kubelet-certificate-authority=${pki.ca.cert}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--profiling=false',
    ],
  };
}

/**
 * kube-controller-manager with every default controller (CronJob, Job, garbage collector,
 * namespace, service account and its token, node lifecycle, ...), each with its own
 * service account credentials as kubeadm runs it. No leader election: one instance only,
 * and a restart does not wait for an old lease to expire.
 */
export function controllerManagerProcess(files: ControlPlaneFiles): ProcessSpec {
  const { pki } = files;
  return {
    name: 'kube-controller-manager',
    binary: binaryPath(kubernetes, 'kube-controller-manager'),
    args: [
      `--kubeconfig=${files.controllerManagerKubeconfig}`,
      `--authentication-kubeconfig=${files.controllerManagerKubeconfig}`,
      `--authorization-kubeconfig=${files.controllerManagerKubeconfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--controllers=*',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccount.key}`,
      `--root-ca-file=${pki.ca.cert}`,
      `--cluster-signing-cert-file=${pki.ca.cert}`,
      `--cluster-signing-key-file=${pki.ca.key}`,
      '--cluster-name=hks-test',
      '--leader-elect=false',
      // Notices Ready fake nodes (and lifts their not-ready taint) within a second.
      '--node-monitor-period=1s',
      // The default client rate limit (20 qps) staggers the start of the ~40 controllers.
      '--kube-api-qps=100',
      '--kube-api-burst=200',
      '--profiling=false',
    ],
  };
}

/** kube-scheduler: binds pods to the fake nodes. */
export function schedulerProcess(files: ControlPlaneFiles): ProcessSpec {
  return {
    name: 'kube-scheduler',
    binary: binaryPath(kubernetes, 'kube-scheduler'),
    args: [
      `--kubeconfig=${files.schedulerKubeconfig}`,
      `--authentication-kubeconfig=${files.schedulerKubeconfig}`,
      `--authorization-kubeconfig=${files.schedulerKubeconfig}`,
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      '--leader-elect=false',
      '--profiling=false',
    ],
  };
}

/**
 * kwok: keeps the annotated fake nodes Ready, moves their pods through the stages in
 * kwok.yaml and serves the kubelet API (pod logs) on 127.0.0.1 for every node. Pod logs come
 * from a `Logs` object named like the pod when there is one (`--enable-crds=Logs`, CRD from
 * kwok-logs-crd.ts), else from the static ClusterLogs in kwok.yaml.
 */
export function kwokProcess(config: ClusterConfig, files: ControlPlaneFiles): ProcessSpec {
  const { pki } = files;
  return {
    name: 'kwok',
    binary: binaryPath(kwok, 'kwok'),
    args: [
      `--kubeconfig=${files.kwokKubeconfig}`,
      `--config=${files.kwokConfig}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${fakeNodeAnnotation}=fake`,
      '--node-ip=127.0.0.1',
      `--node-port=${config.ports.kwok}`,
      `--server-address=127.0.0.1:${config.ports.kwok}`,
      `--tls-cert-file=${pki.kwokServing.cert}`,
      `--tls-private-key-file=${pki.kwokServing.key}`,
      '--node-lease-duration-seconds=40',
      '--cidr=10.244.0.1/16',
      '--enable-crds=Logs',
    ],
  };
}
