import { App } from 'cdk8s';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  API_VERSION,
  buildProjectCharts,
  chartOptionsFromSettings,
  checkDefinitions,
  loadPlatformSettings,
  parsePlatformSettings,
  PlatformSettingsError,
} from '../constructs';

function settingsFile(text: string, name = 'hks.settings.yaml'): string {
  const file = join(mkdtempSync(join(tmpdir(), 'hks-settings-')), name);
  writeFileSync(file, text);
  return file;
}

/** The error's message, or a failure when the call did not throw. */
function problemsOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(PlatformSettingsError);
    return (error as Error).message;
  }
  throw new Error('expected a PlatformSettingsError');
}

const GOOD = `tenancy:
  cpuQuota: 4
  memoryQuota: 8Gi
  podQuota: 40
  defaultCpuRequest: 50m
  defaultMemoryRequest: 64Mi
  defaultMemoryLimit: 256Mi
  functionIngressNamespaces: [knative-serving, kourier-system, monitoring]
projects:
  billing:
    tenancy:
      cpuQuota: "16"
runtimeImages:
  python3.12: registry.example.com/mirror/python:3.12-slim
`;

describe('platform settings', () => {
  test('a good YAML file, and the same as JSON', () => {
    const settings = loadPlatformSettings(settingsFile(GOOD));
    expect(settings).toEqual({
      tenancy: {
        cpuQuota: '4',
        memoryQuota: '8Gi',
        podQuota: 40,
        defaultCpuRequest: '50m',
        defaultMemoryRequest: '64Mi',
        defaultMemoryLimit: '256Mi',
        functionIngressNamespaces: ['knative-serving', 'kourier-system', 'monitoring'],
      },
      projects: { billing: { tenancy: { cpuQuota: '16' } } },
      runtimeImages: { 'python3.12': 'registry.example.com/mirror/python:3.12-slim' },
    });
    const json = settingsFile(JSON.stringify({ tenancy: { podQuota: 7 } }), 'settings.json');
    expect(loadPlatformSettings(json)).toEqual({ tenancy: { podQuota: 7 } });
    expect(loadPlatformSettings(settingsFile(''))).toEqual({});
  });

  test('each bad field is named with its value and what is expected', () => {
    const file = settingsFile(`tenancy:
  cpuQuota: lots
  memoryQuota: 1.3Mi
  podQuota: 0
  defaultCpuRequest: -1
  defaultMemoryLimit: big
  functionIngressNamespaces: [Knative_Serving]
projects:
  Bad_Name: {}
  shop:
    tenancy:
      podQuota: many
runtimeImages:
  nodejs20: "Not An Image"
`);
    const message = problemsOf(() => loadPlatformSettings(file));
    expect(message).toContain('9 problems in platform settings:');
    const at = (path: string, text: string) =>
      expect(message).toContain(`${file}:1: ${path}: ${text}`);
    at('tenancy.cpuQuota', 'given "lots", expected a CPU amount such as 250m');
    at('tenancy.memoryQuota', 'given "1.3Mi"');
    at('tenancy.podQuota', 'given 0, expected at least 1 (line 4)');
    at('tenancy.defaultCpuRequest', 'given -1, expected a CPU amount');
    at('tenancy.defaultMemoryLimit', 'given "big", expected a memory amount');
    at('tenancy.functionIngressNamespaces[0]', 'given "Knative_Serving", expected');
    at('projects.Bad_Name', 'given "Bad_Name", expected a project name');
    at('projects.shop.tenancy.podQuota', 'given "many", expected a number');
    at('runtimeImages.nodejs20', 'given "Not An Image", expected an image reference');
  });

  test('unknown keys are refused, each by its own path', () => {
    const message = problemsOf(() =>
      parsePlatformSettings(
        { tenancy: { cpuQuota: '2', cpuLimit: '4' }, runtimeImages: { go: 'golang:1' }, extra: 1 },
        'hks-platform:settings',
      ),
    );
    expect(message).toContain(
      'hks-platform:settings:1: tenancy.cpuLimit: unknown field, expected only cpuQuota',
    );
    expect(message).toContain(
      'runtimeImages.go: unknown field, expected only python3.12, nodejs20',
    );
    expect(message).toContain('hks-platform:settings:1: extra: unknown field');
  });

  test('an unreadable file, bad YAML and a document that is not a mapping', () => {
    expect(problemsOf(() => loadPlatformSettings('/nonexistent/hks.settings.yaml'))).toContain(
      '/nonexistent/hks.settings.yaml:1: cannot read the file (ENOENT)',
    );
    expect(problemsOf(() => loadPlatformSettings(settingsFile('tenancy: [\n')))).toMatch(
      /:1: YAML: .*\(line \d+\)/,
    );
    expect(problemsOf(() => loadPlatformSettings(settingsFile('- a\n')))).toContain(
      'given a list, expected a mapping with tenancy, projects or runtimeImages',
    );
  });

  test('settings reach the charts: per-project overrides over the defaults, runtime images', () => {
    const settings = loadPlatformSettings(settingsFile(GOOD));
    const definitions = checkDefinitions(
      ['shop', 'billing'].map((project) => ({
        document: {
          apiVersion: API_VERSION,
          kind: 'Function',
          metadata: { name: 'fn', project },
          spec: { runtime: 'python3.12', code: 'def handle(event):\n    return event\n' },
        },
        source: { file: 'test', document: 1 },
      })),
    ).map((c) => c.definition);
    const charts = buildProjectCharts(new App(), definitions, chartOptionsFromSettings(settings));
    const objects = Object.fromEntries(charts.map((c) => [c.project, c.toJson()]));
    const quota = (project: string) =>
      objects[project].find((o: { kind: string }) => o.kind === 'ResourceQuota').spec.hard;
    expect(quota('shop')).toEqual({ 'requests.cpu': '4', 'requests.memory': '8Gi', pods: '40' });
    expect(quota('billing')).toEqual({
      'requests.cpu': '16',
      'requests.memory': '8Gi',
      pods: '40',
    });
    const limits = objects.shop.find((o: { kind: string }) => o.kind === 'LimitRange').spec
      .limits[0];
    expect(limits).toMatchObject({
      defaultRequest: { cpu: '50m', memory: '64Mi' },
      default: { memory: '256Mi' },
    });
    expect(JSON.stringify(objects.shop)).toContain('registry.example.com/mirror/python:3.12-slim');
    expect(JSON.stringify(objects.shop)).toContain('"monitoring"');
  });
});
