/**
 * Reserved names at every door that does not need a cluster: the field rules themselves, YAML
 * files (synth), construct props (ProjectChart and the constructs) and the synth CLI's
 * --namespace-prefix. The API's door is in test/api/reserved-names.int.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import {
  checkAppName,
  checkNamespaceName,
  checkNamespacePrefix,
  checkProjectName,
  loadDefinitions,
  ProjectChart,
  StatelessApplication,
} from '../constructs';
import { statelessDoc, writeAppsDir } from './support/definitions';

const ROOT = join(__dirname, '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const RESERVED_SET = 'default, hks-system, kourier-system, kube-*, knative-*, kourier-*';

describe('field rules', () => {
  test.each([
    'default',
    'kube-system',
    'kube-public',
    'kube-anything',
    'knative-serving',
    'knative-eventing',
    'kourier-system',
    'hks-system',
  ])('project %j is reserved', (project) => {
    expect(checkProjectName(project)).toBe(
      `given "${project}", expected a project name outside the reserved namespaces (${RESERVED_SET})`,
    );
    expect(checkNamespaceName(project)).toContain('expected a namespace outside the reserved ones');
  });

  test.each(['shop', 'kubernetes', 'knative', 'defaults', 'hks-shop', 'system'])(
    'project %j is not reserved',
    (project) => {
      expect(checkProjectName(project)).toBeUndefined();
    },
  );

  test.each(['hks-workload', 'hks-quota', 'hks-api', 'hks-anything'])(
    'application name %j is the platform own',
    (name) => {
      expect(checkAppName(name)).toMatch(
        new RegExp(`^given "${name}", expected a name not starting with "hks-"`),
      );
    },
  );

  test.each(['kube-', 'knative-x', 'kourier-'])('namespace prefix %j is refused', (prefix) => {
    expect(checkNamespacePrefix(prefix)).toContain('are reserved');
  });

  test('a prefix that makes a project a reserved namespace is refused per project', () => {
    expect(checkNamespacePrefix('hks-')).toBeUndefined();
    expect(checkNamespaceName('hks-system')).toContain(
      'choose another namespace prefix or project',
    );
  });
});

describe('YAML files', () => {
  test('a reserved project and a platform name are refused, naming the field', () => {
    const apps = writeAppsDir({
      'a.yaml': [statelessDoc('api', {}, 'kube-system'), statelessDoc('hks-workload')],
    });
    expect(() => loadDefinitions(apps)).toThrow(
      /a\.yaml:1: metadata\.project: given "kube-system", expected a project name outside the reserved namespaces/,
    );
    expect(() => loadDefinitions(apps)).toThrow(
      /a\.yaml:2: metadata\.name: given "hks-workload", expected a name not starting with "hks-"/,
    );
  });
});

describe('construct props', () => {
  test('ProjectChart refuses a reserved project and a prefix reaching a reserved namespace', () => {
    expect(() => new ProjectChart(Testing.app(), 'x', { project: 'default' })).toThrow(
      /ProjectChart x: project: given "default", expected a project name outside the reserved namespaces/,
    );
    expect(
      () => new ProjectChart(Testing.app(), 'x', { project: 'system', namespace: 'hks-system' }),
    ).toThrow(/namespace: given "hks-system", expected a namespace outside the reserved ones/);
  });

  test('a construct refuses an application named like a platform object', () => {
    const chart = new ProjectChart(Testing.app(), 'shop', { project: 'shop' });
    expect(
      () =>
        new StatelessApplication(chart, 'workload', {
          name: 'hks-workload',
          image: 'ghcr.io/acme/api:1.0.0',
        }),
    ).toThrow(/name: given "hks-workload", expected a name not starting with "hks-"/);
  });
});

describe('synth CLI', () => {
  const synth = (...args: string[]) => {
    const result = spawnSync(TSX, [join(ROOT, 'cli', 'synth.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    return { code: result.status, stderr: result.stderr };
  };

  test('--namespace-prefix kube- is refused with exit 2; hks- for project system per project', () => {
    expect(synth('--namespace-prefix', 'kube-')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        '--namespace-prefix: given "kube-", expected a prefix not starting with "kube-"',
      ),
    });
    const apps = writeAppsDir({ 'a.yaml': [statelessDoc('api', {}, 'system')] });
    const result = synth('--apps', apps, '--out', apps, '--namespace-prefix', 'hks-');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'given "hks-system", expected a namespace outside the reserved',
    );
  });
});
