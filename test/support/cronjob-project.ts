/**
 * A test's project of suspended CronJobs behind an API of its own: the API is started on the
 * store given, in a namespace prefix of the run's own, the CronJobs are applied before the
 * suite's tests and the namespace deleted after them.
 */
import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import {
  type ApiProcess,
  type ApiResponse,
  projectRequest,
  startApi,
  type TestStore,
  token,
} from '../api/api-process';
import { kubectlOk } from '../cluster/kubectl';

/** A CronJob of the project: its name, spec fields over the defaults below, pod labels. */
export interface TestCronJob {
  readonly name: string;
  /** Over `image: ghcr.io/acme/job:1`, a yearly schedule and `suspend: true`. @default {} */
  readonly spec?: Record<string, unknown>;
  /** On the kwok nodes `hks.dev/exit-code` sets the container's exit code. @default - none */
  readonly labels?: Record<string, string>;
}

/** The suite's view of its project, usable from its `beforeAll` on. */
export interface CronJobProject {
  /** The namespace the project's objects are in. */
  readonly namespace: string;
  /** The API; set once `beforeAll` has run. */
  readonly api: ApiProcess;
  /** A request to the project's routes, with its token. */
  request(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** Triggers a CronJob (201 expected); resolves to the execution's id. */
  trigger(cronjob: string): Promise<string>;
}

/** Registers the suite's `beforeAll` and `afterAll` that make and remove the project. */
export function useCronJobProject(
  store: TestStore,
  project: string,
  cronJobs: readonly TestCronJob[],
): CronJobProject {
  const prefix = `c${randomBytes(2).toString('hex')}-`;
  let api: ApiProcess | undefined;
  let headers: Record<string, string> = {};
  const request: CronJobProject['request'] = (method, path, body) => {
    if (api === undefined) throw new Error('the project is used before its beforeAll');
    return projectRequest(api, project, headers, method, path, body);
  };

  beforeAll(async () => {
    api = await startApi({ ...(await store.env()), HKS_NAMESPACE_PREFIX: prefix });
    headers = {
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    };
    for (const { name, spec = {}, labels } of cronJobs) {
      const res = await request('POST', '/applications', {
        apiVersion: API_VERSION,
        kind: 'CronJob',
        metadata: { name, project, ...(labels ? { labels } : {}) },
        spec: { image: 'ghcr.io/acme/job:1', schedule: '0 0 1 1 *', suspend: true, ...spec },
      });
      expect(res.status).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await api?.stop();
    await kubectlOk([
      'delete',
      'namespace',
      `${prefix}${project}`,
      '--wait=false',
      '--ignore-not-found',
    ]);
  });

  return {
    namespace: `${prefix}${project}`,
    get api() {
      if (api === undefined) throw new Error('the project is used before its beforeAll');
      return api;
    },
    request,
    async trigger(cronjob) {
      const res = await request('POST', `/cronjobs/${cronjob}/trigger`);
      expect(res.status).toBe(201);
      return String(res.json.id);
    },
  };
}
