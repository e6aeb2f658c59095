import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  API_VERSION,
  DefinitionError,
  FunctionService,
  loadDefinitions,
  MAX_FUNCTION_SOURCE_BYTES,
  synthesizeDefinitions,
} from '../constructs';
import { writeAppsDir } from './support/definitions';
import { at, find, Manifest, projectChart, restrictedViolations, synth } from './support/manifests';

function functionDoc(name: string, spec: Record<string, unknown>) {
  return { apiVersion: API_VERSION, kind: 'Function', metadata: { name, project: 'shop' }, spec };
}

function problemsOf(dir: string): string[] {
  try {
    loadDefinitions(dir, dir);
  } catch (error) {
    if (error instanceof DefinitionError)
      return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

const knativeService = (manifests: Manifest[], name: string) =>
  manifests.find(
    (m) =>
      m.kind === 'Service' && m.apiVersion === 'serving.knative.dev/v1' && m.metadata.name === name,
  ) as Manifest;

describe('FunctionService', () => {
  test('a Knative Service, the source ConfigMap and a ServiceAccount without a token', () => {
    const chart = projectChart('shop');
    const fn = new FunctionService(chart, 'resize', {
      runtime: 'python3.12',
      code: 'def handler(event, context):\n    return event\n',
      env: { BUCKET: 'thumbs' },
      secretEnv: { API_KEY: { secret: 'thumbs', key: 'api-key' } },
      timeoutSeconds: 20,
      scaling: { minScale: 1, maxScale: 4, target: 20, containerConcurrency: 50 },
      labels: { team: 'web' },
    });
    const manifests = synth(chart);
    const service = knativeService(manifests, 'resize');
    const configMap = find(manifests, 'ConfigMap', `resize-${fn.sourceHash}`);
    const account = find(manifests, 'ServiceAccount', 'resize');
    expect(account.automountServiceAccountToken).toBe(false);
    expect(configMap.immutable).toBe(true);
    expect(Object.keys(configMap.data as object).sort()).toEqual([
      'hks-bootstrap.py',
      'src.main.py',
    ]);
    // Flux leaves it to Kubernetes' garbage collector (owner references to its Revisions).
    expect(at(configMap, 'metadata.annotations')).toEqual({
      'kustomize.toolkit.fluxcd.io/prune': 'disabled',
    });
    expect(at(configMap, 'metadata.ownerReferences')).toBeUndefined();
    expect(service.metadata.labels).toMatchObject({
      'hks.hexabase.io/kind': 'Function',
      team: 'web',
    });
    expect(service.metadata.labels?.['networking.knative.dev/visibility']).toBeUndefined();
    const template = at(service, 'spec.template') as Record<string, unknown>;
    expect(at(template, 'metadata.labels')).toMatchObject({
      'hks.hexabase.io/kind': 'Function',
      'hks.hexabase.io/app': 'resize',
    });
    expect(at(template, 'metadata.annotations')).toEqual({
      'autoscaling.knative.dev/min-scale': '1',
      'autoscaling.knative.dev/max-scale': '4',
      'autoscaling.knative.dev/target': '20',
      'hks.hexabase.io/source-hash': fn.sourceHash,
    });
    const spec = at(template, 'spec') as Record<string, unknown>;
    expect(spec).toMatchObject({
      serviceAccountName: 'resize',
      automountServiceAccountToken: false,
      containerConcurrency: 50,
      timeoutSeconds: 20,
    });
    const container = (spec.containers as Record<string, unknown>[])[0];
    expect(container.image).toBe('python:3.12-slim');
    expect(container.command).toEqual(['python3', '/var/hks/runtime/bootstrap.py']);
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'HKS_HANDLER', value: 'main.handler' },
        { name: 'HKS_FUNCTION_NAME', value: 'resize' },
        { name: 'HKS_TIMEOUT_SECONDS', value: '20' },
        { name: 'HKS_FUNCTION_DIR', value: '/var/hks/function' },
        { name: 'BUCKET', value: 'thumbs' },
        { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'thumbs', key: 'api-key' } } },
      ]),
    );
    expect(container.readinessProbe).toMatchObject({ httpGet: { path: '/healthz' } });
    expect(container.livenessProbe).toMatchObject({ httpGet: { path: '/healthz' } });
    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { memory: '128Mi' },
    });
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(restrictedViolations(spec)).toEqual([]);
    expect(at(spec, 'volumes.0.configMap.items')).toEqual([
      { key: 'src.main.py', path: 'main.py' },
    ]);
  });

  test('a change of source changes the ConfigMap name and the template annotation', () => {
    const hashOf = (code: string, chart = projectChart()) =>
      new FunctionService(chart, 'fn', { runtime: 'nodejs20', code }).sourceHash;
    expect(hashOf('exports.handler = () => 1;')).toBe(hashOf('exports.handler = () => 1;'));
    expect(hashOf('exports.handler = () => 1;')).not.toBe(hashOf('exports.handler = () => 2;'));
  });

  test('nested files keep their paths; node runs on node:20-slim or a mirror; cluster-local', () => {
    const chart = projectChart();
    new FunctionService(chart, 'greet', {
      runtime: 'nodejs20',
      handler: 'src/app.greet',
      files: { 'src/app.js': 'exports.greet = () => "hi";', 'src/lib/util.js': '' },
      visibility: 'cluster-local',
      runtimeImages: { nodejs20: 'registry.internal/mirror/node:20-slim' },
    });
    const service = knativeService(synth(chart), 'greet');
    expect(service.metadata.labels?.['networking.knative.dev/visibility']).toBe('cluster-local');
    expect(at(service, 'spec.template.spec.containers.0.image')).toBe(
      'registry.internal/mirror/node:20-slim',
    );
    expect(at(service, 'spec.template.spec.volumes.0.configMap.items')).toEqual([
      { key: 'src.src__app.js', path: 'src/app.js' },
      { key: 'src.src__lib__util.js', path: 'src/lib/util.js' },
    ]);
  });

  test('runtime image: the image as it is, no ConfigMap, non-root without a fixed user', () => {
    const chart = projectChart();
    const fn = new FunctionService(chart, 'thumbs', {
      runtime: 'image',
      image: 'ghcr.io/acme/thumbs:2',
    });
    const manifests = synth(chart);
    expect(fn.configMap).toBeUndefined();
    expect(
      manifests.filter((m) => m.kind === 'ConfigMap' && m.metadata.name.startsWith('thumbs')),
    ).toEqual([]);
    const container = at(
      knativeService(manifests, 'thumbs'),
      'spec.template.spec.containers.0',
    ) as Record<string, unknown>;
    expect(container.image).toBe('ghcr.io/acme/thumbs:2');
    expect(container.command).toBeUndefined();
    expect(at(container, 'securityContext.runAsUser')).toBeUndefined();
    expect(at(container, 'securityContext.runAsNonRoot')).toBe(true);
  });

  test('props are checked with the words of the definitions', () => {
    expect(() => new FunctionService(projectChart(), 'fn', { runtime: 'python3.12' })).toThrow(
      'source: given none of source, code and files, expected exactly one of them',
    );
    expect(
      () =>
        new FunctionService(projectChart(), 'fn', {
          runtime: 'nodejs20',
          code: 'x',
          runtimeImages: { nodejs20: 'Bad Image' },
        }),
    ).toThrow('runtimeImages.nodejs20: given "Bad Image"');
  });
});

describe('Function definitions', () => {
  test('source is read relative to the definition file: a folder or a single file', () => {
    const dir = writeAppsDir({
      'fns.yaml': [
        functionDoc('py', { runtime: 'python3.12', source: './src/py' }),
        functionDoc('js', { runtime: 'nodejs20', source: 'src/js/index.js' }),
      ],
    });
    mkdirSync(join(dir, 'src', 'py', 'lib'), { recursive: true });
    mkdirSync(join(dir, 'src', 'py', '__pycache__'));
    mkdirSync(join(dir, 'src', 'js'));
    writeFileSync(join(dir, 'src', 'py', 'main.py'), 'def handler(e, c): return 1\n');
    writeFileSync(join(dir, 'src', 'py', 'lib', 'util.py'), '');
    writeFileSync(join(dir, 'src', 'py', '__pycache__', 'main.pyc'), Buffer.from([0xff, 0]));
    writeFileSync(join(dir, 'src', 'py', '.env'), 'SECRET=1');
    writeFileSync(join(dir, 'src', 'js', 'index.js'), 'exports.handler = () => 1;');
    const definitions = loadDefinitions(dir).map((c) => c.definition);
    const files = Object.fromEntries(
      definitions.map((d) => [d.metadata.name, d.kind === 'Function' ? d.spec.files : undefined]),
    );
    expect(files).toEqual({
      py: { 'main.py': 'def handler(e, c): return 1\n', 'lib/util.py': '' },
      js: { 'index.js': 'exports.handler = () => 1;' },
    });
    const out = join(dir, 'out');
    expect(synthesizeDefinitions(definitions, out)).toEqual(['shop.k8s.yaml']);
  });

  test('every problem at once, each naming field, value given and what is expected', () => {
    const dir = writeAppsDir({
      'fns.yaml': [
        functionDoc('a', { runtime: 'ruby3', code: 'x' }),
        functionDoc('b', {
          runtime: 'python3.12',
          handler: 'main',
          code: 'x',
          image: 'python:3.12',
        }),
        functionDoc('c', { runtime: 'python3.12', code: 'x', source: './x' }),
        functionDoc('d', { runtime: 'nodejs20', source: './missing' }),
        functionDoc('e', { runtime: 'image', code: 'x' }),
        functionDoc('f', {
          runtime: 'nodejs20',
          code: 'x',
          timeoutSeconds: 900,
          scaling: { minScale: 5, maxScale: 2, target: 50, containerConcurrency: 10 },
          env: { PORT: '80' },
        }),
        functionDoc('g', { runtime: 'python3.12', files: { 'lib/other.py': '', '../up.py': '' } }),
        functionDoc('h', { runtime: 'nodejs20', code: 'x'.repeat(MAX_FUNCTION_SOURCE_BYTES + 1) }),
      ],
    });
    const problems = problemsOf(dir);
    expect(problems).toEqual(
      expect.arrayContaining([
        'spec.runtime: given "ruby3", expected "python3.12" | "nodejs20" | "image"',
        'spec.handler: given "main", expected module.function of Python identifiers, e.g. "main.handler" (module main.py, function handler)',
        'spec.image: given an image with runtime: python3.12, expected no image (or runtime: image)',
        'spec.code: given source and code of source, code and files, expected exactly one of them',
        expect.stringMatching(
          /^spec.source: given "\.\/missing" \(.*missing does not exist\), expected a file or folder relative to fns.yaml$/,
        ),
        'spec.image: missing, expected an image reference for runtime: image',
        'spec.code: given code with runtime: image, expected no code',
        'spec.timeoutSeconds: given 900, expected at most 600',
        'spec.scaling.minScale: given 5, expected at most maxScale 2',
        'spec.scaling.target: given 50, expected at most containerConcurrency 10',
        'spec.env.PORT: given "PORT", expected a name other than PORT, K_* (set by Knative) and HKS_* (set by the function runtime)',
        expect.stringMatching(
          /^spec.files\["\.\.\/up\.py"\]: given "\.\.\/up\.py", expected a relative path/,
        ),
        expect.stringMatching(
          /^spec.code: given 1 file\(s\) of 921601 bytes in all, expected at most 921600 bytes .* use runtime: image/,
        ),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(13);
  });

  test('a source without the handler module, or too large, is refused at spec.source', () => {
    const dir = writeAppsDir({
      'fns.yaml':
        stringify(functionDoc('a', { runtime: 'python3.12', source: 'src' })) +
        '---\n' +
        stringify(functionDoc('b', { runtime: 'nodejs20', source: 'big' })),
    });
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'app.py'), '');
    mkdirSync(join(dir, 'big'));
    writeFileSync(join(dir, 'big', 'index.js'), 'x'.repeat(600 * 1024));
    writeFileSync(join(dir, 'big', 'data.js'), 'x'.repeat(600 * 1024));
    expect(problemsOf(dir)).toEqual([
      'spec.source: given files app.py, expected the handler "main.handler"\'s module among them: main.py or main/__init__.py',
      `spec.source: given "big" (more than ${MAX_FUNCTION_SOURCE_BYTES} bytes of files), expected at most ${MAX_FUNCTION_SOURCE_BYTES} bytes (source travels in a ConfigMap, limited to 1 MiB); build an image and use runtime: image for larger code`,
    ]);
  });
});
