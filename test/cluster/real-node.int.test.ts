import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { stringify } from 'yaml';
import { kubectlJson, kubectlOk } from './kubectl';
import { createTestNamespace, deleteTestNamespace, restrictedPodSecurity } from './namespace';
import { realNodeKey, realNodeName } from './real-node-config';
import { describeOnRealNode, expectRealNodeReady, placeOnRealNode } from './real-node-placement';
import { waitFor } from './wait';
import { restrictedPodSpec } from './workloads';

interface PodStatus {
  spec: { nodeName?: string };
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: { state?: { terminated?: { exitCode: number; reason?: string } } }[];
  };
}

/** A restricted pod running `script` in busybox; resolves when it ended. */
async function runPod(namespace: string, name: string, script: string): Promise<PodStatus> {
  const spec = restrictedPodSpec() as { containers: { command: string[] }[] };
  spec.containers[0].command = ['sh', '-c', script];
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace }, spec };
  await kubectlOk(['create', '-f', '-'], stringify(pod));
  let last: PodStatus | undefined;
  await waitFor(`pod ${namespace}/${name} to end`, 60_000, async () => {
    last = await kubectlJson<PodStatus>(['get', 'pod', name, '-n', namespace, '-o', 'json']);
    return last.status.phase === 'Succeeded' || last.status.phase === 'Failed';
  });
  return last as PodStatus;
}

/** The first name server the host uses: outside the node, so pods must not reach it. */
function hostNameServer(): string {
  const line = readFileSync('/etc/resolv.conf', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('nameserver '));
  return line?.split(/\s+/)[1] ?? '1.1.1.1';
}

describeOnRealNode('the real node', () => {
  let namespace = '';

  beforeAll(async () => {
    await expectRealNodeReady();
    namespace = await createTestNamespace('real-node', restrictedPodSecurity);
    await placeOnRealNode(namespace);
  }, 60_000);

  afterAll(async () => {
    if (namespace) await deleteTestNamespace(namespace);
  });

  it('registers tainted and labelled, beside the kwok nodes', async () => {
    const node = await kubectlJson<{
      metadata: { labels: Record<string, string> };
      spec: { taints?: { key: string; effect: string }[] };
      status: { nodeInfo: { containerRuntimeVersion: string; kubeletVersion: string } };
    }>(['get', 'node', realNodeName, '-o', 'json']);
    expect(node.metadata.labels[realNodeKey]).toBe('true');
    expect(node.spec.taints).toContainEqual(
      expect.objectContaining({ key: realNodeKey, effect: 'NoSchedule' }),
    );
    expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    const names = (await kubectlOk(['get', 'nodes', '-o', 'name'])).split('\n');
    expect(names).toEqual(expect.arrayContaining(['node/kwok-node-0', 'node/kwok-node-1']));
  });

  it('runs a restricted container for real: its own output and exit code', async () => {
    const pod = await runPod(namespace, 'prints', 'echo "real $(id -u)"; sleep 1; exit 7');
    expect(pod.spec.nodeName).toBe(realNodeName);
    expect(pod.status.phase).toBe('Failed');
    expect(pod.status.containerStatuses?.[0].state?.terminated?.exitCode).toBe(7);
    expect(await kubectlOk(['logs', 'prints', '-n', namespace])).toBe('real 65534\n');
  }, 90_000);

  it('reaches the API server through the kubernetes Service, and nothing outside the node', async () => {
    const outside = hostNameServer();
    const script = [
      // busybox nc: connects, reads stdin (empty), exits 0; exits 1 when it cannot connect.
      'nc -w 3 10.96.0.1 443 </dev/null && echo service-ok || echo service-failed',
      `nc -w 3 ${outside} 53 </dev/null && echo outside-reached || echo outside-blocked`,
    ].join('; ');
    const pod = await runPod(namespace, 'network', script);
    expect(pod.status.podIP).toMatch(/^10\.245\.0\./);
    const logs = await kubectlOk(['logs', 'network', '-n', namespace]);
    expect(logs).toContain('service-ok');
    expect(logs).toContain('outside-blocked');
  }, 90_000);

  it('mounts ConfigMap, Secret, emptyDir and service account token volumes', async () => {
    await kubectlOk([
      'create',
      'configmap',
      'cm',
      '-n',
      namespace,
      '--from-literal=a=from-configmap',
    ]);
    await kubectlOk([
      'create',
      'secret',
      'generic',
      'sec',
      '-n',
      namespace,
      '--from-literal=b=from-secret',
    ]);
    const spec = restrictedPodSpec() as {
      automountServiceAccountToken: boolean;
      volumes?: object[];
      containers: { command: string[]; volumeMounts?: object[] }[];
    };
    spec.automountServiceAccountToken = true;
    spec.volumes = [
      { name: 'cm', configMap: { name: 'cm' } },
      { name: 'sec', secret: { secretName: 'sec' } },
      { name: 'scratch', emptyDir: {} },
    ];
    spec.containers[0].volumeMounts = [
      { name: 'cm', mountPath: '/cm' },
      { name: 'sec', mountPath: '/sec' },
      { name: 'scratch', mountPath: '/scratch' },
    ];
    const token = '/var/run/secrets/kubernetes.io/serviceaccount/token';
    spec.containers[0].command = [
      'sh',
      '-c',
      `cat /cm/a /sec/b; echo x > /scratch/f && echo scratch-ok; test -s ${token} && echo token-ok; touch /root-fs 2>/dev/null || echo read-only-root`,
    ];
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'volumes', namespace }, spec };
    await kubectlOk(['create', '-f', '-'], stringify(pod));
    await waitFor('pod volumes to end', 60_000, async () => {
      const p = await kubectlJson<PodStatus>([
        'get',
        'pod',
        'volumes',
        '-n',
        namespace,
        '-o',
        'json',
      ]);
      return p.status.phase === 'Succeeded' || p.status.phase === 'Failed';
    });
    expect(await kubectlOk(['logs', 'volumes', '-n', namespace])).toBe(
      'from-configmapfrom-secretscratch-ok\ntoken-ok\nread-only-root\n',
    );
  }, 90_000);

  it('keeps pods without the toleration off the node', async () => {
    const other = await createTestNamespace('kwok-only', restrictedPodSecurity);
    try {
      const spec = restrictedPodSpec();
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'fake', namespace: other },
        spec,
      };
      await kubectlOk(['create', '-f', '-'], stringify(pod));
      let node = '';
      await waitFor('pod fake scheduled', 30_000, async () => {
        const p = await kubectlJson<PodStatus>(['get', 'pod', 'fake', '-n', other, '-o', 'json']);
        node = p.spec.nodeName ?? '';
        return node !== '';
      });
      expect(node).toMatch(/^kwok-node-/);
    } finally {
      await deleteTestNamespace(other);
    }
  }, 90_000);

  it('lets the host connect to a pod by its IP (as the Knative stand-in does)', async () => {
    const spec = restrictedPodSpec() as {
      restartPolicy: string;
      containers: { command: string[] }[];
    };
    spec.restartPolicy = 'Never';
    spec.containers[0].command = ['sh', '-c', 'echo hello-from-pod | nc -l -p 8080'];
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'listener', namespace }, spec };
    await kubectlOk(['create', '-f', '-'], stringify(pod));
    let ip = '';
    await waitFor('listener Running', 60_000, async () => {
      const p = await kubectlJson<PodStatus>([
        'get',
        'pod',
        'listener',
        '-n',
        namespace,
        '-o',
        'json',
      ]);
      ip = p.status.podIP ?? '';
      return p.status.phase === 'Running' && ip !== '';
    });
    let answer = '';
    await waitFor(`a TCP answer from ${ip}:8080`, 20_000, async () => {
      answer = await readSocket(ip, 8080).catch(() => '');
      return answer !== '';
    });
    expect(answer).toBe('hello-from-pod\n');
  }, 90_000);
});

/** Everything a TCP server sends until it closes the connection. */
function readSocket(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let data = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}
