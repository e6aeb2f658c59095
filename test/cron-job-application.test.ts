import { CronJobApplication, Schedule, StatelessApplication } from '../constructs';
import {
  at,
  find,
  podSpecOf,
  projectChart,
  restrictedViolations,
  synth,
} from './support/manifests';

describe('CronJobApplication', () => {
  test('a standalone job with the documented defaults', () => {
    const chart = projectChart();
    new CronJobApplication(chart, 'backup', {
      image: 'ghcr.io/acme/backup:1',
      schedule: Schedule.cron('@weekly'),
    });
    const cronJob = find(synth(chart), 'CronJob', 'backup');
    expect(cronJob.spec).toMatchObject({
      schedule: '0 0 * * 0',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect(at(cronJob, 'spec.timeZone')).toBeUndefined();
    expect(at(cronJob, 'spec.jobTemplate.spec.backoffLimit')).toBe(6);
    expect(at(cronJob, 'spec.jobTemplate.spec.activeDeadlineSeconds')).toBeUndefined();
    expect(at(cronJob, 'spec.jobTemplate.spec.ttlSecondsAfterFinished')).toBeUndefined();
    const pod = podSpecOf(cronJob);
    expect(pod.restartPolicy).toBe('Never');
    expect(restrictedViolations(pod)).toEqual([]);
    expect(at(cronJob, 'metadata.labels')).toMatchObject({
      'hks.hexabase.io/kind': 'CronJob',
      'hks.hexabase.io/app': 'backup',
    });
    expect(at(cronJob, 'spec.jobTemplate.spec.template.metadata.labels')).toMatchObject({
      'hks.hexabase.io/app': 'backup',
    });
  });

  test('every field maps to the CronJob, including a TTL next to history limits', () => {
    const chart = projectChart();
    new CronJobApplication(chart, 'report', {
      image: 'ghcr.io/acme/report:2',
      schedule: Schedule.cron('0 3 * * *'),
      timeZone: 'Asia/Tokyo',
      concurrencyPolicy: 'Replace',
      suspend: true,
      startingDeadlineSeconds: 60,
      activeDeadlineSeconds: 3600,
      backoffLimit: 2,
      restartPolicy: 'OnFailure',
      ttlSecondsAfterFinished: 86400,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 5,
    });
    const cronJob = find(synth(chart), 'CronJob', 'report');
    expect(cronJob.spec).toMatchObject({
      schedule: '0 3 * * *',
      timeZone: 'Asia/Tokyo',
      concurrencyPolicy: 'Replace',
      suspend: true,
      startingDeadlineSeconds: 60,
      successfulJobsHistoryLimit: 1,
      failedJobsHistoryLimit: 5,
    });
    expect(at(cronJob, 'spec.jobTemplate.spec')).toMatchObject({
      activeDeadlineSeconds: 3600,
      backoffLimit: 2,
      ttlSecondsAfterFinished: 86400,
    });
    expect(podSpecOf(cronJob).restartPolicy).toBe('OnFailure');
  });

  test('copies the template container: image, env, secretEnv, envFrom, resources, service account', () => {
    const chart = projectChart();
    const api = new StatelessApplication(chart, 'api', {
      image: 'ghcr.io/acme/api:1',
      command: ['node'],
      args: ['server.js'],
      env: { LOG_LEVEL: 'info', MODE: 'server', TOKEN: 'plain' },
      secretEnv: { DB_PASSWORD: { secret: 'db', key: 'password' } },
      envFrom: [{ configMap: 'cfg' }],
      resources: { cpu: '250m', memory: '256Mi' },
      serviceAccount: 'api-sa',
      port: 8080,
    });
    new CronJobApplication(chart, 'report', {
      template: api,
      schedule: Schedule.cron('0 3 * * *'),
      args: ['report.js'],
      env: { MODE: 'report' },
      secretEnv: { TOKEN: { secret: 'tokens', key: 'report' } },
    });
    const pod = podSpecOf(find(synth(chart), 'CronJob', 'report'));
    const container = (pod.containers as Record<string, unknown>[])[0];
    expect(container.image).toBe('ghcr.io/acme/api:1');
    expect(container.command).toBeUndefined(); // the template's command is not copied
    expect(container.args).toEqual(['report.js']);
    expect(container.env).toEqual([
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'MODE', value: 'report' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'tokens', key: 'report' } } },
    ]);
    expect(container.envFrom).toEqual([{ configMapRef: { name: 'cfg' } }]);
    expect(container.resources).toEqual({
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { memory: '256Mi' },
    });
    expect(container.ports).toBeUndefined();
    expect(pod.serviceAccountName).toBe('api-sa');
  });

  test('fields given on the job replace the template ones', () => {
    const chart = projectChart();
    const api = new StatelessApplication(chart, 'api', {
      image: 'ghcr.io/acme/api:1',
      resources: { cpu: '1' },
      envFrom: [{ configMap: 'a' }],
    });
    new CronJobApplication(chart, 'job', {
      template: api,
      schedule: Schedule.cron('@daily'),
      resources: { cpu: '100m', memory: '64Mi' },
      envFrom: [{ secret: 'b' }],
      serviceAccount: 'job-sa',
    });
    const pod = podSpecOf(find(synth(chart), 'CronJob', 'job'));
    const container = (pod.containers as Record<string, unknown>[])[0];
    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '64Mi' },
      limits: { memory: '64Mi' },
    });
    expect(container.envFrom).toEqual([{ secretRef: { name: 'b' } }]);
    expect(pod.serviceAccountName).toBe('job-sa');
  });

  test('invalid props are rejected', () => {
    const chart = projectChart();
    expect(
      () => new CronJobApplication(chart, 'job', { schedule: Schedule.cron('@daily') }),
    ).toThrow(
      'CronJob "job" in project "shop" is invalid:\n  image: given neither template nor image, expected exactly one of them',
    );
    expect(
      () =>
        new CronJobApplication(chart, 'job2', {
          image: 'nginx:1',
          schedule: Schedule.cron('@daily'),
          timeZone: 'Mars/Base',
          backoffLimit: -1,
        }),
    ).toThrow(
      /timeZone: given "Mars\/Base", expected an IANA time zone[\s\S]*backoffLimit: given -1, expected at least 0/,
    );
  });

  test('a template from another project is refused', () => {
    const other = projectChart('other');
    const api = new StatelessApplication(other, 'api', { image: 'nginx:1' });
    const chart = projectChart('shop');
    expect(
      () =>
        new CronJobApplication(chart, 'job', { template: api, schedule: Schedule.cron('@daily') }),
    ).toThrow(
      /template: given "api" of project "other", expected a StatelessApplication of the same project/,
    );
  });
});
