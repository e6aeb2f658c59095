import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { kubectl, kubectlJson, kubectlOk } from '../cluster/kubectl';
import { realNodeName } from '../cluster/real-node-config';
import {
  describeOnRealNode,
  expectRealNodeReady,
  placeOnRealNode,
} from '../cluster/real-node-placement';
import { waitFor } from '../cluster/wait';
import { executionLogs, waitForEndedExecution, type Execution } from '../support/executions';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api-process';

jest.setTimeout(600_000);

/*
 * CronJob executions whose containers run for real: busybox on the test cluster's real node
 * (kubelet, containerd, runc; HKS_CLUSTER_REAL_NODE=1 npm run cluster:up), defined, triggered
 * and read through the API. The project's namespace is annotated (as the cluster admin) so
 * that the API server's PodNodeSelector and PodTolerationRestriction put its pods there.
 */

const PROJECT = 'realexec';
const IMAGE = 'docker.io/library/busybox:1.36';

const cronJob = (name: string, script: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name, project: PROJECT },
  spec: {
    image: IMAGE,
    command: ['sh', '-c', script],
    // Only manual runs.
    schedule: '0 0 1 1 *',
    suspend: true,
    backoffLimit: 0,
    resources: { cpu: '10m', memory: '32Mi' },
    ...spec,
  },
});

const DEADLINE_SECONDS = 3;

const definitions = [
  cronJob('exits', 'echo first line; echo second line; sleep 2; exit 3'),
  // restartPolicy Never: each retry is a new pod.
  cronJob('fails-twice', 'echo failing; exit 3', { backoffLimit: 1 }),
  // /tmp is the pod's emptyDir (every workload has it): it outlives a container's restarts.
  cronJob(
    'retries',
    'n=$(cat /tmp/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/n; echo attempt $n; [ $n -ge 3 ]',
    { restartPolicy: 'OnFailure', backoffLimit: 6 },
  ),
  // A program that stops on SIGTERM, as the kubelet asks when the Job deletes its pod.
  cronJob('deadline', "trap 'echo stopping; exit 143' TERM; echo started; sleep 60 & wait $!", {
    activeDeadlineSeconds: DEADLINE_SECONDS,
  }),
  // sh as PID 1 without a trap ignores SIGTERM: the kubelet kills it after the grace period.
  cronJob('deadline-kill', 'echo started; sleep 60', { activeDeadlineSeconds: DEADLINE_SECONDS }),
  cronJob('oom', 'echo allocating; head -c 64m /dev/zero | tail', {
    resources: { cpu: '10m', memory: '16Mi', memoryLimit: '16Mi' },
  }),
  cronJob('follow', 'i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo tick $i; sleep 0.5; done'),
];

interface PodObject {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: {
    containerStatuses?: { restartCount: number; state?: { running?: object } }[];
  };
}

/** The pods of a Job (by its UID), as the cluster admin sees them. */
async function jobPods(namespace: string, jobUid: string): Promise<PodObject[]> {
  const list = await kubectlJson<{ items: PodObject[] }>([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    `batch.kubernetes.io/controller-uid=${jobUid}`,
  ]);
  return list.items;
}

/**
 * Requests the real node's kubelet is serving on `/containerLogs` right now (its
 * `kubelet_http_inflight_requests` gauge): a log follow the API server passes on to the
 * kubelet holds one until it ends.
 */
async function kubeletLogStreams(): Promise<number> {
  const metrics = await kubectlOk(['get', '--raw', `/api/v1/nodes/${realNodeName}/proxy/metrics`]);
  return metrics
    .split('\n')
    .filter((line) => line.startsWith('kubelet_http_inflight_requests{'))
    .filter((line) => line.includes('path="containerLogs"'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

const seconds = (from: string, to?: string) =>
  (new Date(to ?? NaN).getTime() - new Date(from).getTime()) / 1000;

describeOnRealNode('CronJob executions on the real node', () => {
  describe.each(testStores())('through the API ($name store)', (store) => {
    const prefix = `x${randomBytes(2).toString('hex')}-`;
    const namespace = `${prefix}${PROJECT}`;
    let api: ApiProcess;
    let headers: Record<string, string>;
    const request = (method: string, path: string, body?: unknown) =>
      projectRequest(api, PROJECT, headers, method, path, body);
    /** Execution id (Job UID) and Job name of each CronJob's manual run. */
    const ids: Record<string, string> = {};
    const jobNames: Record<string, string> = {};
    const ended = (cronjob: string) => waitForEndedExecution(request, cronjob, ids[cronjob]);
    const trigger = async (...cronjobs: string[]) => {
      for (const cronjob of cronjobs) {
        const res = await request('POST', `/cronjobs/${cronjob}/trigger`);
        expect(res.status).toBe(201);
        ids[cronjob] = String(res.json.id);
        jobNames[cronjob] = String(res.json.job);
      }
    };

    beforeAll(async () => {
      await expectRealNodeReady();
      api = await startApi({ ...(await store.env()), HKS_NAMESPACE_PREFIX: prefix });
      headers = {
        authorization: `Bearer ${await token([PROJECT])}`,
        'content-type': 'application/json',
      };
      for (const [i, definition] of definitions.entries()) {
        const res = await request('POST', '/applications', definition);
        expect(res.status).toBe(201);
        // The first apply created the project's namespace: its pods go to the real node.
        if (i === 0) await placeOnRealNode(namespace);
        /*
         * busybox's image names no user and a definition cannot set one (the schema has no
         * runAsUser), while the pods must run as non-root (Pod Security restricted): the
         * kubelet refuses to start it as root. The run's user is set on the CronJob here.
         */
        await kubectlOk([
          'patch',
          'cronjob',
          definition.metadata.name,
          '-n',
          namespace,
          '--type=json',
          '-p',
          JSON.stringify([
            {
              op: 'add',
              path: '/spec/jobTemplate/spec/template/spec/securityContext/runAsUser',
              value: 65534,
            },
            {
              op: 'add',
              path: '/spec/jobTemplate/spec/template/spec/securityContext/runAsGroup',
              value: 65534,
            },
          ]),
        ]);
      }
      // These runs at once, each case below waits for its own; the deadline cases run later.
      await trigger('exits', 'fails-twice', 'retries', 'oom', 'follow');
    }, 120_000);

    afterAll(async () => {
      await api?.stop();
      // A run a failed case left held by the record finalizer must not keep the namespace.
      const jobs = await kubectl(['get', 'jobs', '-n', namespace, '-o', 'name']);
      for (const job of jobs.stdout.split('\n').filter(Boolean)) {
        await kubectl([
          'patch',
          job,
          '-n',
          namespace,
          '--type=merge',
          '-p',
          '{"metadata":{"finalizers":null}}',
        ]);
      }
      await kubectl(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
    });

    test('a container that prints two lines, sleeps 2 s and exits 3: its own logs and exit code', async () => {
      const execution = await ended('exits');
      expect(execution).toMatchObject({
        status: 'failed',
        exitCode: 3,
        terminationReason: 'Error',
        reason: 'BackoffLimitExceeded',
        logCapture: 'captured',
        logsTruncated: false,
        attempts: 1,
      });
      // The container's output, nothing else (kwok's fake line, a header) around it.
      expect(await executionLogs(request, 'exits', execution.id)).toBe('first line\nsecond line\n');
      const duration = seconds(execution.startedAt, execution.completedAt);
      console.log(`exits: execution lasted ${duration} s (the Job's times, whole seconds)`);
      expect(duration).toBeGreaterThanOrEqual(2);
      const pods = await jobPods(namespace, execution.id);
      expect(pods.map((p) => p.spec.nodeName)).toEqual([realNodeName]);
    });

    test('restartPolicy Never, backoffLimit 1, failing: 2 attempts, one pod each, both logs marked', async () => {
      const execution = await ended('fails-twice');
      expect(execution).toMatchObject({
        status: 'failed',
        exitCode: 3,
        reason: 'BackoffLimitExceeded',
        logCapture: 'captured',
        attempts: 2,
      });
      const pods = await jobPods(namespace, execution.id);
      expect(pods).toHaveLength(2);
      expect(await executionLogs(request, 'fails-twice', execution.id)).toMatch(
        /^--- attempt 1 of 2: pod [^\n]+, restart 0, exit code 3, Error ---\nfailing\n--- attempt 2 of 2: pod [^\n]+, restart 0, exit code 3, Error ---\nfailing\n$/,
      );
    });

    test('restartPolicy OnFailure, failing twice then succeeding: 3 attempts, the runs the node keeps, each marked', async () => {
      const execution = await ended('retries');
      expect(execution).toMatchObject({
        status: 'succeeded',
        exitCode: 0,
        terminationReason: 'Completed',
        reason: 'CompletionsReached',
        logCapture: 'captured',
        // One pod, its container run three times: the Job's counts alone would say 1.
        attempts: 3,
      });
      const [pod] = await jobPods(namespace, execution.id);
      expect(pod.status.containerStatuses?.[0].restartCount).toBe(2);
      /*
       * One pod, its container run three times. When the last run ended the kubelet removed
       * the one before (it keeps one ended run besides the current one): only the last run's
       * log is left, under a header counting the two whose logs are gone.
       */
      expect(await executionLogs(request, 'retries', execution.id)).toBe(
        `--- attempt 1 of 1: pod ${pod.metadata.name}, restart 2, exit code 0, Completed (the logs of 2 earlier restarts are no longer kept by the node) ---\n` +
          'attempt 3\n',
      );
      console.log(
        `retries: 3 runs in one pod in ${seconds(execution.startedAt, execution.completedAt)} s (the kubelet's restart back-off between them)`,
      );
    });

    const deadlineCase = async (cronjob: string, boundSeconds: number): Promise<Execution> => {
      const execution = await ended(cronjob);
      // Its one pod, deleted by the Job controller at the deadline, still counted by the Job.
      expect(execution).toMatchObject({
        status: 'failed',
        reason: 'DeadlineExceeded',
        attempts: 1,
      });
      const after = seconds(execution.startedAt, execution.completedAt) - DEADLINE_SECONDS;
      console.log(
        `${cronjob}: ended ${after} s after its ${DEADLINE_SECONDS} s deadline (the Job's times, whole seconds); ` +
          `exit code ${execution.exitCode ?? 'none'}, termination reason ${execution.terminationReason ?? 'none'}, ` +
          `logs ${execution.logCapture}${execution.logCaptureError ? ` (${execution.logCaptureError})` : ''}`,
      );
      expect(after).toBeGreaterThanOrEqual(0);
      expect(after).toBeLessThanOrEqual(boundSeconds);
      // The Job controller deletes each pod as soon as it ended: the logs read while it was
      // being stopped are kept when the pod is gone before the Job is Failed.
      expect(['captured', 'lost']).toContain(execution.logCapture);
      expect(await executionLogs(request, cronjob, execution.id)).toMatch(
        /^started\n(stopping\n)?$/,
      );
      return execution;
    };

    test('activeDeadlineSeconds 3 with sleep 60, stopping on SIGTERM: DeadlineExceeded at the deadline', async () => {
      // Alone on the node (the runs above have ended, but follow's), so that the containers
      // start well within the deadline (the Job's start counts, not the container's).
      await trigger('deadline', 'deadline-kill');
      await deadlineCase('deadline', 15);
    });

    test('activeDeadlineSeconds 3 with sleep 60, ignoring SIGTERM: DeadlineExceeded once the grace period killed it', async () => {
      // terminationGracePeriodSeconds is 30 (not in the schema): SIGKILL comes 30 s after SIGTERM.
      await deadlineCase('deadline-kill', 30 + 20);
    });

    test('a container over its 16Mi memory limit: OOMKilled, exit code 137', async () => {
      const execution = await ended('oom');
      expect(execution).toMatchObject({
        status: 'failed',
        exitCode: 137,
        terminationReason: 'OOMKilled',
        reason: 'BackoffLimitExceeded',
        logCapture: 'captured',
        attempts: 1,
      });
      // sh reports its child (tail) killed by the OOM killer, the only process it chose under
      // cgroup v1; with cgroup v2 the kubelet has the whole container killed at once.
      expect(await executionLogs(request, 'oom', execution.id)).toMatch(
        /^allocating\n(Killed\n)?$/,
      );
    });

    test('a log follow whose client goes away mid-stream: the API stops following', async () => {
      const id = ids.follow;
      await waitFor('the follow run running on the real node', 120_000, async () => {
        const [pod] = await jobPods(namespace, id);
        return pod?.status.containerStatuses?.[0].state?.running !== undefined;
      });
      await waitFor('the follow run recorded', 60_000, async () => {
        return (await request('GET', `/cronjobs/follow/executions/${id}`)).status === 200;
      });
      const before = await kubeletLogStreams();
      const client = new AbortController();
      const res = await fetch(
        `${api.url}/api/v1/projects/${PROJECT}/cronjobs/follow/executions/${id}/logs?follow=true`,
        { headers, signal: client.signal },
      );
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      const lastTick = (text: string) =>
        Number([...text.matchAll(/tick (\d+)\n/g)].pop()?.[1] ?? 0);
      let text = '';
      let first = 0;
      // Lines written after the follow began arrive while it lasts.
      while (first === 0 || lastTick(text) < first + 2) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the follow ended early after ${JSON.stringify(text)}`);
        text += decoder.decode(value, { stream: true });
        if (first === 0) first = lastTick(text);
      }
      expect(text.startsWith('tick 1\n')).toBe(true);
      const during = await kubeletLogStreams();
      expect(during).toBeGreaterThanOrEqual(before + 1);
      // The client goes away; the container keeps writing for minutes.
      client.abort();
      const goneAt = Date.now();
      await waitFor(
        'the kubelet serving no more log streams than before the follow',
        30_000,
        async () => (await kubeletLogStreams()) <= before,
      );
      console.log(
        `follow: the kubelet's log streams ${before} before, ${during} while following, back to ${before} ${Date.now() - goneAt} ms after the client went away`,
      );
      const [pod] = await jobPods(namespace, id);
      expect(pod.status.containerStatuses?.[0].state?.running).toBeDefined();
      // Deleted while it runs: recorded as unknown, with the logs up to then.
      await kubectlOk(['delete', 'job', jobNames.follow, '-n', namespace, '--wait=false']);
      const execution = await waitForEndedExecution(request, 'follow', id);
      expect(execution).toMatchObject({ status: 'unknown', logCapture: 'captured', attempts: 1 });
      expect(await executionLogs(request, 'follow', id)).toMatch(/^tick 1\ntick 2\n/);
    });
  });
});
