import { stringify } from 'yaml';
import { fakeContainerLogLine } from './kwok-config';
import { kubectl, kubectlJson, kubectlOk } from './kubectl';
import { createTestNamespace, deleteTestNamespace, restrictedPodSecurity } from './namespace';
import { waitFor } from './wait';
import { exitCodeAnnotations, restrictedPodSpec, testImage } from './workloads';

interface Owned {
  readonly metadata: {
    readonly name: string;
    readonly ownerReferences?: readonly { readonly kind: string; readonly name: string }[];
  };
}

interface JobList {
  readonly items: readonly (Owned & {
    readonly status: {
      readonly succeeded?: number;
      readonly conditions?: readonly { type: string; status: string }[];
    };
  })[];
}

interface Pod extends Owned {
  readonly status: {
    readonly phase: string;
    readonly containerStatuses?: readonly {
      readonly state: { readonly terminated?: { readonly exitCode: number } };
    }[];
  };
}

const jobComplete = (job: JobList['items'][number]): boolean =>
  job.status.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') === true;

describe('workloads on fake nodes (Pod Security restricted)', () => {
  let namespace = '';

  beforeAll(async () => {
    namespace = await createTestNamespace('workloads', restrictedPodSecurity);
    // Created first: the CronJob fires at the next minute boundary while the other tests run.
    const cronJob = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'every-minute', namespace },
      spec: {
        schedule: '*/1 * * * *',
        concurrencyPolicy: 'Forbid',
        jobTemplate: { spec: { backoffLimit: 0, template: { spec: restrictedPodSpec() } } },
      },
    };
    await kubectlOk(['create', '-f', '-'], stringify(cronJob));
  }, 40_000);

  afterAll(async () => {
    await deleteTestNamespace(namespace);
  });

  test('Pod Security admission rejects a pod that breaks the restricted profile', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'privileged', namespace },
      spec: {
        containers: [{ name: 'main', image: testImage, securityContext: { privileged: true } }],
      },
    };
    const result = await kubectl(['create', '-f', '-'], stringify(pod));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('violates PodSecurity "restricted:latest"');
  });

  test('a failing pod ends Failed with its non-zero exit code', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'fails', namespace, annotations: exitCodeAnnotations(3) },
      spec: restrictedPodSpec(3),
    };
    await kubectlOk(['create', '-f', '-'], stringify(pod));
    let last: Pod | undefined;
    await waitFor('pod "fails" to end', 30_000, async () => {
      last = await kubectlJson<Pod>(['get', 'pod', 'fails', '-n', namespace]);
      return last.status.phase === 'Failed' || last.status.phase === 'Succeeded';
    });
    expect(last?.status.phase).toBe('Failed');
    expect(last?.status.containerStatuses?.[0].state.terminated?.exitCode).toBe(3);
  }, 40_000);

  test('the CronJob controller creates a Job whose pod succeeds, with readable logs', async () => {
    let job: JobList['items'][number] | undefined;
    await waitFor(
      'a completed Job of CronJob every-minute',
      90_000,
      async () => {
        const jobs = await kubectlJson<JobList>(['get', 'jobs', '-n', namespace]);
        job = jobs.items.find((j) =>
          j.metadata.ownerReferences?.some(
            (o) => o.kind === 'CronJob' && o.name === 'every-minute',
          ),
        );
        return job !== undefined && jobComplete(job);
      },
      undefined,
      500,
    );
    expect(job?.status.succeeded).toBe(1);
    const pods = await kubectlJson<{ items: Pod[] }>([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      `job-name=${job?.metadata.name}`,
    ]);
    expect(pods.items).toHaveLength(1);
    const pod = pods.items[0];
    expect(pod.status.phase).toBe('Succeeded');
    expect(pod.status.containerStatuses?.[0].state.terminated?.exitCode).toBe(0);
    const logs = await kubectlOk(['logs', '-n', namespace, pod.metadata.name]);
    expect(logs.trim()).toBe(fakeContainerLogLine);
  }, 100_000);
});
