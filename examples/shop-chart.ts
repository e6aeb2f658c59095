/**
 * Authoring in code: the same shop as apps/shop.yaml, written with the constructs.
 * Run it with `npx tsx examples/shop-chart.ts` to print the manifests.
 */
import { App, YamlOutputType } from 'cdk8s';
import { CronJobApplication, ProjectChart, Schedule, StatelessApplication } from '../constructs';

/** Builds the shop project into an app. */
export function buildShop(app: App): ProjectChart {
  const shop = new ProjectChart(app, 'shop', { project: 'shop', tenancy: { cpuQuota: '4' } });

  const api = new StatelessApplication(shop, 'api', {
    image: 'ghcr.io/acme/shop-api:1.4.2',
    command: ['node'],
    args: ['server.js'],
    env: { LOG_LEVEL: 'info' },
    secretEnv: { DB_PASSWORD: { secret: 'shop-db', key: 'password' } },
    port: 8080,
    replicas: 2,
    resources: { cpu: '250m', memory: '256Mi' },
  });

  new CronJobApplication(shop, 'nightly-report', {
    template: api,
    schedule: Schedule.cron('0 3 * * *'),
    timeZone: 'Asia/Tokyo',
    args: ['report.js', '--since', '24h'],
  });
  return shop;
}

if (require.main === module) {
  const app = new App({ yamlOutputType: YamlOutputType.FILE_PER_APP });
  buildShop(app);
  process.stdout.write(app.synthYaml());
}
