import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A key pair signed by the cluster CA. */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

/** Files of the cluster's small PKI. */
export interface Pki {
  readonly ca: CertPair;
  /** Serving certificate of kube-apiserver (127.0.0.1, localhost, kubernetes.default...). */
  readonly apiserver: CertPair;
  /** Client certificate kube-apiserver presents to kwok's kubelet API (logs). */
  readonly apiserverKubeletClient: CertPair;
  /** Serving certificate of kwok's kubelet API. */
  readonly kwokServing: CertPair;
  /** Client certificates, one per identity. */
  readonly admin: CertPair;
  readonly controllerManager: CertPair;
  readonly scheduler: CertPair;
  readonly kwok: CertPair;
  /** The real node's kubelet: client (`system:node:<name>`) and serving certificate in one. */
  readonly kubelet: CertPair;
  /** The real node's kube-proxy (`system:kube-proxy`, bound to `system:node-proxier`). */
  readonly kubeProxy: CertPair;
  /** Key that signs service account tokens; `pub` is what kube-apiserver verifies with. */
  readonly serviceAccount: { readonly key: string; readonly pub: string };
}

interface Subject {
  readonly cn: string;
  readonly o?: string;
}

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || String(error)}`);
  }
}

function newKey(path: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

function subjectString({ cn, o }: Subject): string {
  return (o ? `/O=${o}` : '') + `/CN=${cn}`;
}

function issue(
  dir: string,
  name: string,
  ca: CertPair,
  subject: Subject,
  sans?: readonly string[],
): CertPair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  newKey(pair.key);
  openssl(['req', '-new', '-key', pair.key, '-subj', subjectString(subject), '-out', csr]);
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${sans ? 'serverAuth,clientAuth' : 'clientAuth'}`,
  ];
  if (sans) {
    lines.push(`subjectAltName=${sans.join(',')}`);
  }
  writeFileSync(ext, lines.join('\n') + '\n');
  openssl([
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-days', '3650', '-sha256', '-extfile', ext, '-out', pair.cert,
  ]); // prettier-ignore
  rmSync(csr);
  rmSync(ext);
  return pair;
}

function pkiPaths(dir: string): Pki {
  const pair = (name: string): CertPair => ({
    cert: join(dir, `${name}.crt`),
    key: join(dir, `${name}.key`),
  });
  return {
    ca: pair('ca'),
    apiserver: pair('apiserver'),
    apiserverKubeletClient: pair('apiserver-kubelet-client'),
    kwokServing: pair('kwok-serving'),
    admin: pair('admin'),
    controllerManager: pair('kube-controller-manager'),
    scheduler: pair('kube-scheduler'),
    kwok: pair('kwok'),
    kubelet: pair('kubelet'),
    kubeProxy: pair('kube-proxy'),
    serviceAccount: { key: join(dir, 'sa.key'), pub: join(dir, 'sa.pub') },
  };
}

/** Addresses of the real node, when there is one (see real-node-network.ts). */
export interface NodeAddresses {
  /** The host's end of the node's link: where pods and the kubelet reach the API server. */
  readonly hostIp: string;
  /** The node's own address (kubelet API). */
  readonly nodeIp: string;
  readonly nodeName: string;
}

/**
 * Creates the cluster's certificates and keys in `dir` with the `openssl` CLI,
 * or returns the existing ones. EC P-256 keys keep this well under a second.
 */
export function ensurePki(dir: string, node: NodeAddresses): Pki {
  const pki = pkiPaths(dir);
  if (existsSync(pki.serviceAccount.pub)) {
    return pki;
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  newKey(pki.ca.key);
  openssl([
    'req', '-x509', '-new', '-key', pki.ca.key, '-subj', '/CN=hks-test-cluster-ca', '-days', '3650',
    '-sha256', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature', '-out', pki.ca.cert,
  ]); // prettier-ignore
  const localSans = ['IP:127.0.0.1', 'DNS:localhost'];
  issue(dir, 'apiserver', pki.ca, { cn: 'kube-apiserver' }, [
    ...localSans,
    `IP:${node.hostIp}`,
    'IP:10.96.0.1',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
  ]);
  issue(dir, 'apiserver-kubelet-client', pki.ca, {
    cn: 'kube-apiserver-kubelet-client',
    o: 'system:masters',
  });
  issue(dir, 'kwok-serving', pki.ca, { cn: 'kwok' }, localSans);
  issue(dir, 'admin', pki.ca, { cn: 'hks-admin', o: 'system:masters' });
  issue(dir, 'kube-controller-manager', pki.ca, { cn: 'system:kube-controller-manager' });
  issue(dir, 'kube-scheduler', pki.ca, { cn: 'system:kube-scheduler' });
  issue(dir, 'kwok', pki.ca, { cn: 'kwok-controller', o: 'system:masters' });
  issue(dir, 'kubelet', pki.ca, { cn: `system:node:${node.nodeName}`, o: 'system:nodes' }, [
    `IP:${node.nodeIp}`,
    `DNS:${node.nodeName}`,
  ]);
  issue(dir, 'kube-proxy', pki.ca, { cn: 'system:kube-proxy' });
  newKey(pki.serviceAccount.key);
  openssl(['pkey', '-in', pki.serviceAccount.key, '-pubout', '-out', pki.serviceAccount.pub]);
  return pki;
}
