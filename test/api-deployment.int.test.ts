/**
 * The API as the stack installs it, from the image `npm run image:api` builds, running for real
 * on the test cluster's real node (kubelet, containerd, runc; HKS_CLUSTER_REAL_NODE=1).
 *
 * The stack's own objects (Pulumi's mocks, as test/pulumi-stack.int.test.ts takes them: the
 * platform Namespace, ServiceAccount, RBAC and admission policy, config Secret, Deployment,
 * Service) are server-side applied as Pulumi applies them, into a platform namespace of this
 * test's own (the stack's `platformNamespace`) annotated for the real node right after it is
 * created. The API image is built (or taken from the cache) and imported into the node's
 * containerd. Then the kubelet runs the Deployment's pod as the stack states it: its
 * environment, the image's command, the read-only root, /tmp and the SQLite store on their
 * volumes, the ServiceAccount token; its readiness probe (`/readyz`: the cluster and the store
 * answer) makes it Ready. From the host the test calls the pod's IP: `/readyz`, and a project's
 * apply, which the API makes with its in-cluster config (the token and the `kubernetes`
 * Service, mapped to the API server by the node's kube-proxy). With HKS_TEST_DATABASE_URL set
 * the same runs with `apiDatabaseUrl`: the pod reaches PostgreSQL through a forward on the
 * host's end of the node's link.
 */
import * as pulumi from '@pulumi/pulumi';
import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../constructs';
import { buildApiImage } from '../images/api/api-image';
import { apiImageReference } from '../images/api/reference';
import type { KubeObject } from '../knative';
import { parseStackConfig, type RawStackConfig } from '../stacks/stack-config';
import { clusterConfig } from './cluster/config';
import { importImages } from './cluster/images';
import { kubectl, kubectlJson, kubectlOk } from './cluster/kubectl';
import { stderrLog } from './cluster/log';
import { realNodeFiles, realNodeName } from './cluster/real-node-config';
import { nodeNetwork } from './cluster/real-node-network';
import {
  describeOnRealNode,
  expectRealNodeReady,
  placeOnRealNode,
} from './cluster/real-node-placement';
import { waitFor } from './cluster/wait';
import { TEST_JWT_SECRET, testStores, token } from './api/api-process';
import { knativeManifestDir } from './support/knative-dir';
import { installMocks, settled, valueOf } from './support/pulumi-mocks';
import { applyAsPulumi, kubernetesObjects } from './support/stack-objects';
import { tcpForward, type TcpForward } from './support/tcp-forward';

jest.setTimeout(600_000);

const registered = installMocks();
const PROJECT = 'apipod';
const API_LABEL = 'app.kubernetes.io/name=hks-api';

interface PodObject {
  metadata: { name: string };
  spec: {
    nodeName?: string;
    containers: { image: string; securityContext?: { readOnlyRootFilesystem?: boolean } }[];
  };
  status: {
    podIP?: string;
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; restartCount: number }[];
  };
}

/** The stack's objects for `raw` config (checked by the stack's own parser), as Pulumi gets them. */
async function stackObjects(
  raw: RawStackConfig,
  secrets: { jwtSecret: string; databaseUrl?: string },
): Promise<KubeObject[]> {
  const stacks = await import('../stacks');
  registered.splice(0);
  const stack = stacks.createPlatformStack(parseStackConfig(raw), {
    apiJwtSecret: pulumi.secret(secrets.jwtSecret),
    apiDatabaseUrl:
      secrets.databaseUrl === undefined ? undefined : pulumi.secret(secrets.databaseUrl),
  });
  await valueOf(stack.kourierAddress);
  await settled(registered);
  return kubernetesObjects(registered);
}

/** The API's pods in `namespace`, as the cluster admin sees them. */
async function apiPods(namespace: string): Promise<PodObject[]> {
  return (
    await kubectlJson<{ items: PodObject[] }>(['get', 'pods', '-n', namespace, '-l', API_LABEL])
  ).items;
}

const isReady = (pod: PodObject): boolean =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** What the pod's namespace says about it, for a failure's message. */
async function podReport(namespace: string): Promise<string> {
  const get = await kubectl(['get', 'pods', '-n', namespace, '-o', 'wide']);
  const events = await kubectl(['get', 'events', '-n', namespace, '--sort-by=.lastTimestamp']);
  const logs = await kubectl(['logs', '-n', namespace, '-l', API_LABEL, '--tail=30']);
  return `${get.stdout}\n${events.stdout}\n${logs.stdout}${logs.stderr}`;
}

describeOnRealNode('the API Deployment of the stack, from the API image, on the real node', () => {
  /** Whether the image is on the node: jest runs the inner set-ups even when this one failed. */
  let imported = false;
  beforeAll(async () => {
    await expectRealNodeReady();
    const image = await buildApiImage(stderrLog);
    expect(image.reference).toBe(apiImageReference());
    await importImages(
      realNodeFiles(clusterConfig().stateDir).containerdSocket,
      [image],
      stderrLog,
    );
    imported = true;
  });

  describe.each(testStores())('$name store', (store) => {
    const suffix = randomBytes(2).toString('hex');
    const platformNamespace = `hks-apipod-${suffix}`;
    const prefix = `ap${suffix}-`;
    const projectNamespace = `${prefix}${PROJECT}`;
    let forward: TcpForward | undefined;
    let objects: KubeObject[] = [];
    let pod: PodObject;
    let url = '';
    /** Printed at the end: how long until Ready, how much memory after the checks. */
    const figures: Record<string, string> = {};

    beforeAll(async () => {
      if (!imported) throw new Error('no API image on the real node (see the first failure)');
      const { HKS_DATABASE_URL: hostDatabaseUrl } = await store.env();
      let databaseUrl: string | undefined;
      if (hostDatabaseUrl !== undefined) {
        // PostgreSQL listens on 127.0.0.1: the pod reaches it through the host's end of its link.
        const target = new URL(hostDatabaseUrl);
        forward = await tcpForward(nodeNetwork.hostIp, {
          host: target.hostname,
          port: Number(target.port || 5432),
        });
        target.hostname = nodeNetwork.hostIp;
        target.port = String(forward.port);
        databaseUrl = target.toString();
      }
      objects = await stackObjects(
        {
          knativeManifestDir: knativeManifestDir(),
          kourierServiceType: 'ClusterIP',
          platformNamespace,
          namespacePrefix: prefix,
          apiJwtSecret: '<set>',
          ...(databaseUrl === undefined ? {} : { apiDatabaseUrl: '<set>' }),
        },
        { jwtSecret: TEST_JWT_SECRET, databaseUrl },
      );
      const namespaces = objects.filter((o) => o.kind === 'Namespace');
      expect(namespaces.map((o) => o.metadata.name)).toEqual([platformNamespace]);
      await applyAsPulumi(namespaces);
      await placeOnRealNode(platformNamespace);
      await applyAsPulumi(objects.filter((o) => o.kind !== 'Namespace'));
      const applied = Date.now();
      await waitFor('the API pod to become Ready', 240_000, async () => {
        const ready = (await apiPods(platformNamespace)).find(isReady);
        if (ready !== undefined) pod = ready;
        return ready !== undefined;
      }).catch(async (error: Error) => {
        throw new Error(`${error.message}\n${await podReport(platformNamespace)}`);
      });
      url = `http://${pod.status.podIP}:8080`;
      figures.ready = `${((Date.now() - applied) / 1000).toFixed(1)} s`;
    });

    afterAll(async () => {
      if (url !== '') {
        // cgroup v1 on the test node: the container's own memory cgroup
        const usage = await kubectl([
          'exec',
          '-n',
          platformNamespace,
          pod.metadata.name,
          '--',
          'cat',
          '/sys/fs/cgroup/memory/memory.usage_in_bytes',
        ]);
        figures.memory = `${(Number(usage.stdout) / 2 ** 20).toFixed(0)} MiB`;
        process.stderr.write(`api-deployment.int (${store.name}): ${JSON.stringify(figures)}\n`);
      }
      for (const namespace of [projectNamespace, platformNamespace]) {
        await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
      }
      // What the stack made cluster-wide for this namespace's ServiceAccount (the two
      // ClusterRoles are shared by every installation and stay).
      const name = `${platformNamespace}-hks-api`;
      for (const kind of [
        'clusterrolebinding',
        'validatingadmissionpolicybinding',
        'validatingadmissionpolicy',
      ]) {
        await kubectl(['delete', kind, name, '--ignore-not-found']);
      }
      await forward?.close();
    });

    it('runs the API image on the real node, Ready once the kubelet probed /readyz', async () => {
      expect(pod.spec.nodeName).toBe(realNodeName);
      expect(pod.spec.containers[0].image).toBe(apiImageReference());
      expect(pod.spec.containers[0].securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(pod.status.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 0 });
      const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
        spec: { template: { spec: { containers: { readinessProbe: unknown }[] } } };
      };
      expect(deployment.spec.template.spec.containers[0].readinessProbe).toMatchObject({
        httpGet: { path: '/readyz' },
      });
      // The API says which store it opened and that it runs as the stack's ServiceAccount.
      const logs = await kubectlOk(['logs', '-n', platformNamespace, pod.metadata.name]);
      const listening = logs
        .split('\n')
        .filter((line) => line.includes('"msg":"listening"'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(listening).toEqual([
        expect.objectContaining({
          port: 8080,
          store: store.name,
          kubernetesUser: expect.stringContaining(
            `system:serviceaccount:${platformNamespace}:hks-api`,
          ),
        }),
      ]);
    });

    it('answers /readyz from the host at the pod IP: the cluster and the store are reachable', async () => {
      const response = await fetch(`${url}/readyz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ cluster: 'ok', store: 'ok' });
    });

    it('writes only its volumes: the root file system is read-only', async () => {
      const checked = await kubectlOk([
        'exec',
        '-n',
        platformNamespace,
        pod.metadata.name,
        '--',
        'node',
        '-e',
        `const fs = require('node:fs');
         for (const dir of ['/', '/app', '/tmp', '/var/lib/hks']) {
           try { fs.writeFileSync(dir + '/.probe', ''); fs.rmSync(dir + '/.probe'); console.log(dir, 'writable'); }
           catch (error) { console.log(dir, error.code); }
         }
         console.log('sqlite', fs.existsSync('/var/lib/hks/api.sqlite'));`,
      ]);
      expect(checked.trim().split('\n')).toEqual([
        '/ EROFS',
        '/app EROFS',
        '/tmp writable',
        '/var/lib/hks writable',
        `sqlite ${store.name === 'sqlite'}`,
      ]);
    });

    it("applies a project's CronJob through the in-cluster API into the prefixed namespace", async () => {
      const headers = {
        authorization: `Bearer ${await token([PROJECT])}`,
        'content-type': 'application/json',
      };
      const definition = {
        apiVersion: API_VERSION,
        kind: 'CronJob',
        metadata: { name: 'nightly', project: PROJECT },
        spec: {
          image: 'docker.io/library/busybox:1.36',
          command: ['sh', '-c', 'echo hi'],
          schedule: '0 3 * * *',
          suspend: true,
          resources: { cpu: '10m', memory: '32Mi' },
        },
      };
      const base = `${url}/api/v1/projects/${PROJECT}/applications`;
      const created = await fetch(base, {
        method: 'POST',
        headers,
        body: JSON.stringify(definition),
      });
      expect({ status: created.status, body: await created.text() }).toMatchObject({ status: 201 });
      const cronJob = await kubectlJson<{ metadata: { namespace: string } }>([
        'get',
        'cronjob',
        'nightly',
        '-n',
        projectNamespace,
      ]);
      expect(cronJob.metadata.namespace).toBe(projectNamespace);
      const namespace = await kubectlJson<{ metadata: { labels: Record<string, string> } }>([
        'get',
        'namespace',
        projectNamespace,
      ]);
      expect(namespace.metadata.labels['app.kubernetes.io/managed-by']).toBe('hks');
      // and stored it in the store it opened
      const listed = (await (await fetch(base, { headers })).json()) as {
        items: { name: string; version: number }[];
      };
      expect(listed.items).toEqual([expect.objectContaining({ name: 'nightly', version: 1 })]);
    });

    it("checks a Function's Python source with the image's Python 3.12 before applying it", async () => {
      const response = await fetch(`${url}/api/v1/projects/${PROJECT}/applications`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await token([PROJECT])}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          apiVersion: API_VERSION,
          kind: 'Function',
          metadata: { name: 'broken', project: PROJECT },
          spec: {
            runtime: 'python3.12',
            handler: 'main.handler',
            files: { 'main.py': 'def handler(event, context)\n    return event\n' },
          },
        }),
      });
      const text = await response.text();
      expect({ status: response.status, text }).toMatchObject({
        status: 400,
        text: expect.stringMatching(/main\.py line 1[\s\S]*Checked with Python 3\.12\.\d+/),
      });
    });
  });
});
