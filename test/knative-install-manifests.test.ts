import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEPENDS_ON_ANNOTATION,
  KnativeManifests,
  KOURIER_INGRESS_CLASS,
  KubeObject,
  readLocalManifests,
  releaseFileUrls,
  SKIP_AWAIT_ANNOTATION,
  transformKnativeManifests,
} from '../knative';
import { knativeManifestDir } from './support/knative-dir';

const upstream: KnativeManifests = readLocalManifests(knativeManifestDir());

function find(objects: readonly KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
}

const data = (o: KubeObject): Record<string, string> => o.data as Record<string, string>;
const spec = (o: KubeObject): Record<string, unknown> => o.spec as Record<string, unknown>;

describe('readLocalManifests', () => {
  it('reads the upstream source trees: Serving core with its CRDs once, Kourier, the magic DNS Job', () => {
    const crds = upstream.serving.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.map((o) => o.metadata.name)).toContain('services.serving.knative.dev');
    expect(crds).toHaveLength(12); // 11 in 300-resources/ + images (300-imagecache.yaml)
    expect(new Set(crds.map((o) => o.metadata.name)).size).toBe(crds.length);
    expect(find(upstream.kourier, 'Service', 'kourier').metadata.namespace).toBe('kourier-system');
    expect(upstream.defaultDomain.map((o) => o.kind).sort()).toEqual(['Job', 'Service']);
  });

  describe('release-file layout', () => {
    let dir: string;
    const concat = (folder: string, recursive: boolean): string =>
      yamlFiles(folder, recursive)
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n---\n');
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'hks-knative-release-'));
      const root = knativeManifestDir();
      const core = concat(join(root, 'serving', 'config', 'core'), true);
      writeFileSync(join(dir, 'serving-core.yaml'), core);
      writeFileSync(join(dir, 'serving-crds.yaml'), core); // present in releases; must be ignored
      writeFileSync(join(dir, 'kourier.yaml'), concat(join(root, 'net-kourier', 'config'), false));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads serving-core.yaml and kourier.yaml, not serving-crds.yaml, the same objects as the trees', () => {
      const release = readLocalManifests(dir);
      expect(release.serving).toEqual(upstream.serving);
      expect(release.kourier).toEqual(upstream.kourier);
      expect(release.defaultDomain).toEqual([]);
    });

    it('refuses magic DNS when serving-default-domain.yaml is missing', () => {
      expect(() => transformKnativeManifests(readLocalManifests(dir), { magicDns: true })).toThrow(
        /magicDns: given true, but the Knative manifests have no default-domain Job/,
      );
    });

    it('refuses an object defined twice', () => {
      const twice = mkdtempSync(join(tmpdir(), 'hks-knative-twice-'));
      try {
        const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: knative-serving\n';
        writeFileSync(join(twice, 'serving-core.yaml'), ns);
        writeFileSync(join(twice, 'kourier.yaml'), ns);
        expect(() => readLocalManifests(twice)).toThrow(
          'Knative manifests: /Namespace//knative-serving is defined twice, expected each object once',
        );
      } finally {
        rmSync(twice, { recursive: true, force: true });
      }
    });
  });

  it('names the folder and the layouts it expects', () => {
    expect(() => readLocalManifests('/nonexistent/knative')).toThrow(
      /knativeManifestDir: given "\/nonexistent\/knative", expected a folder holding the release files serving-core.yaml and kourier.yaml .*or the source trees serving\/config\/core\/ and net-kourier\/config\//,
    );
  });

  it('names the file and document of a broken manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hks-knative-bad-'));
    try {
      writeFileSync(join(dir, 'serving-core.yaml'), 'apiVersion: v1\nkind: Namespace\n');
      writeFileSync(join(dir, 'kourier.yaml'), '');
      expect(() => readLocalManifests(dir)).toThrow(
        /serving-core.yaml: document 1: given .*, expected a Kubernetes object with apiVersion, kind and metadata.name/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('transformKnativeManifests', () => {
  const defaults = transformKnativeManifests(upstream);

  it('makes Kourier the ingress in config-network (key ingress-class of v1.13)', () => {
    expect(data(find(defaults.serving, 'ConfigMap', 'config-network'))['ingress-class']).toBe(
      KOURIER_INGRESS_CLASS,
    );
    // the shipped example block is left alone, so Knative's checksum check still passes
    expect(data(find(defaults.serving, 'ConfigMap', 'config-network'))._example).toBe(
      data(find(upstream.serving, 'ConfigMap', 'config-network'))._example,
    );
  });

  it('by default: no domain set, a LoadBalancer gateway, no magic DNS Job, no extra labels', () => {
    expect(Object.keys(data(find(defaults.serving, 'ConfigMap', 'config-domain')))).toEqual([
      '_example',
    ]);
    expect(spec(find(defaults.kourier, 'Service', 'kourier')).type).toBe('LoadBalancer');
    expect([...defaults.serving, ...defaults.kourier].some((o) => o.kind === 'Job')).toBe(false);
    expect(defaults.serving).toHaveLength(upstream.serving.length);
    expect(defaults.kourier).toHaveLength(upstream.kourier.length);
  });

  it('writes the domain into config-domain', () => {
    const { serving } = transformKnativeManifests(upstream, { domain: 'fn.example.com' });
    expect(data(find(serving, 'ConfigMap', 'config-domain'))['fn.example.com']).toBe('');
  });

  it.each(['NodePort', 'ClusterIP', 'LoadBalancer'] as const)(
    'sets the Kourier gateway Service type to %s and leaves kourier-internal alone',
    (type) => {
      const { kourier } = transformKnativeManifests(upstream, { kourierServiceType: type });
      expect(spec(find(kourier, 'Service', 'kourier')).type).toBe(type);
      expect(spec(find(kourier, 'Service', 'kourier-internal')).type).toBe('ClusterIP');
    },
  );

  it('keeps the magic DNS Job (not awaited) in the Kourier group when asked for', () => {
    const { serving, kourier } = transformKnativeManifests(upstream, { magicDns: true });
    const job = find(kourier, 'Job', 'default-domain');
    expect(job.metadata.annotations?.[SKIP_AWAIT_ANNOTATION]).toBe('true');
    expect(find(kourier, 'Service', 'default-domain-service')).toBeDefined();
    expect(serving.some((o) => o.kind === 'Job')).toBe(false);
  });

  it('adds labels to every object without replacing the ones Knative selects by', () => {
    const { serving, kourier } = transformKnativeManifests(upstream, {
      labels: { 'app.kubernetes.io/part-of': 'hks-platform', 'app.kubernetes.io/name': 'x' },
    });
    for (const o of [...serving, ...kourier]) {
      expect(o.metadata.labels?.['app.kubernetes.io/part-of']).toBe('hks-platform');
    }
    expect(find(serving, 'ConfigMap', 'config-network').metadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'knative-serving',
      'app.kubernetes.io/component': 'networking',
    });
  });

  it('orders the Knative webhook configurations after the webhook Deployment and the config maps', () => {
    const webhooks = defaults.serving.filter((o) => o.kind.endsWith('WebhookConfiguration'));
    expect(webhooks).toHaveLength(3);
    for (const webhook of webhooks) {
      const refs = webhook.metadata.annotations?.[DEPENDS_ON_ANNOTATION]?.split(',') ?? [];
      expect(refs).toContain('apps/namespaces/knative-serving/Deployment/webhook');
      expect(refs).toContain('/namespaces/knative-serving/ConfigMap/config-network');
      expect(refs).toHaveLength(12);
    }
  });

  it('does not modify its input', () => {
    const before = JSON.stringify(upstream);
    transformKnativeManifests(upstream, {
      domain: 'fn.example.com',
      kourierServiceType: 'NodePort',
      labels: { a: 'b' },
    });
    expect(JSON.stringify(upstream)).toBe(before);
  });

  it.each([
    [
      { domain: 'Fn.Example.com' },
      'domain: given "Fn.Example.com", expected a lower-case DNS name',
    ],
    [{ domain: 'fn..com' }, 'domain: given "fn..com", expected a lower-case DNS name'],
    [
      { domain: 'fn.example.com', magicDns: true },
      'domain: given "fn.example.com" together with magicDns true, expected one of them',
    ],
    [
      { kourierServiceType: 'ExternalName' as 'NodePort' },
      'kourierServiceType: given "ExternalName", expected one of LoadBalancer, NodePort, ClusterIP',
    ],
  ])('refuses %j', (options, message) => {
    expect(() => transformKnativeManifests(upstream, options)).toThrow(message);
  });

  it('says what is missing when the manifests are not Knative', () => {
    expect(() =>
      transformKnativeManifests({ serving: [], kourier: upstream.kourier, defaultDomain: [] }),
    ).toThrow('Knative manifests: no ConfigMap knative-serving/config-network found');
  });
});

describe('releaseFileUrls', () => {
  it('points at the official release downloads', () => {
    expect(releaseFileUrls('v1.13.0')).toEqual({
      'serving-core.yaml':
        'https://github.com/knative/serving/releases/download/knative-v1.13.0/serving-core.yaml',
      'kourier.yaml':
        'https://github.com/knative/net-kourier/releases/download/knative-v1.13.0/kourier.yaml',
      'serving-default-domain.yaml':
        'https://github.com/knative/serving/releases/download/knative-v1.13.0/serving-default-domain.yaml',
    });
  });

  it('refuses a version that is not x.y.z', () => {
    expect(() => releaseFileUrls('latest')).toThrow(
      'knativeVersion: given "latest", expected a Knative release version such as "1.13.0"',
    );
  });
});

function yamlFiles(dir: string, recursive: boolean): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return recursive ? yamlFiles(path, true) : [];
      return entry.endsWith('.yaml') ? [path] : [];
    });
}
