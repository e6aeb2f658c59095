/**
 * The synth benchmarks' workload: 1000 definitions (100 StatelessApplications, 900 CronJobs
 * using them as templates, in 10 projects), as plain documents.
 */
import type { ApplicationDefinition } from '../constructs';

export const PROJECTS = 10;
const STATELESS_PER_PROJECT = 10;
const CRONJOBS_PER_STATELESS = 9;

/** The definitions, unchecked (as a YAML file or an API body holds them). */
export function definitions(): ApplicationDefinition[] {
  const docs: ApplicationDefinition[] = [];
  for (let p = 0; p < PROJECTS; p++) {
    const project = `project-${p}`;
    for (let s = 0; s < STATELESS_PER_PROJECT; s++) {
      const api = `api-${s}`;
      docs.push({
        apiVersion: 'hks.hexabase.io/v1',
        kind: 'StatelessApplication',
        metadata: { name: api, project, labels: { team: 'bench' } },
        spec: {
          image: `ghcr.io/acme/${api}:1.0.${s}`,
          env: { LOG_LEVEL: 'info' },
          secretEnv: { DB_PASSWORD: { secret: 'db', key: 'password' } },
          port: 8080,
          replicas: 2,
          resources: { cpu: '250m', memory: '256Mi' },
        },
      });
      for (let c = 0; c < CRONJOBS_PER_STATELESS; c++) {
        docs.push({
          apiVersion: 'hks.hexabase.io/v1',
          kind: 'CronJob',
          metadata: { name: `${api}-job-${c}`, project },
          spec: {
            template: api,
            schedule: `${c} ${s} * * *`,
            ...(c % 2 === 0 ? { timeZone: 'Asia/Tokyo' } : {}),
            args: ['job.js', String(c)],
            env: { JOB: String(c) },
          },
        });
      }
    }
  }
  return docs;
}
