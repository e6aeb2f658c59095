import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { renderSchema } from '../cli/schema';
import { buildShop } from '../examples/shop-chart';
import { find, restrictedViolations, podSpecOf, Manifest } from './support/manifests';

test('the code example in the README builds the shop', () => {
  const manifests = Testing.synth(buildShop(Testing.app())) as Manifest[];
  expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(
    expect.arrayContaining([
      'Namespace/shop',
      'Deployment/api',
      'Service/api',
      'CronJob/nightly-report',
    ]),
  );
  const report = find(manifests, 'CronJob', 'nightly-report');
  expect(report.spec).toMatchObject({ schedule: '0 3 * * *', timeZone: 'Asia/Tokyo' });
  expect(restrictedViolations(podSpecOf(report))).toEqual([]);
});

test('the violation check itself catches a non-compliant pod', () => {
  expect(
    restrictedViolations({
      containers: [{ name: 'c', securityContext: { privileged: true } }],
      hostNetwork: true,
    }),
  ).toEqual([
    'host namespaces',
    'c: allowPrivilegeEscalation',
    'c: privileged',
    'c: capabilities.drop ALL',
    'c: runAsNonRoot',
    'c: seccompProfile',
  ]);
});

test('schema/definition.schema.json is generated from the current schema', () => {
  const committed = readFileSync(join(__dirname, '..', 'schema', 'definition.schema.json'), 'utf8');
  expect(committed).toBe(renderSchema());
  const schema = JSON.parse(committed);
  expect(
    schema.oneOf.map((s: { properties: { kind: { const: string } } }) => s.properties.kind.const),
  ).toEqual(['StatelessApplication', 'CronJob', 'Function']);
});
