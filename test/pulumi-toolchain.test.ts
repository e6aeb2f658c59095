/**
 * The Pulumi toolchain's pure parts: configuration, versions, pins, cache stamps, the
 * provider's embedded files and the environment `pulumi` runs in. The build and the real
 * binaries are exercised by test/pulumi-toolchain.int.test.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pinnedVersion } from './cluster/build';
import { repoRoot, toolchainConfig } from '../tools/pulumi/config';
import { prepareBackend, pulumiEnvironment } from '../tools/pulumi/environment';
import { toolchainLayout } from '../tools/pulumi/layout';
import { schemaEmbed, terraformMappingEmbed } from '../tools/pulumi/provider-embeds';
import { lockedVersion, toolchainVersions } from '../tools/pulumi/versions';
import {
  checkCliWrapper,
  cacheMiss,
  providerModule,
  wrapperPin,
  writeSource,
} from '../tools/pulumi/wrapper';

const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  devDependencies: Record<string, string>;
};

let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'hks-pulumi-toolchain-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

describe('toolchainConfig', () => {
  it('keeps the builds in ~/.cache/hks/pulumi and reads the sources beside the repository', () => {
    expect(toolchainConfig({})).toEqual({
      cacheDir: join(homedir(), '.cache', 'hks', 'pulumi'),
      sourcesDir: join(repoRoot, '..', 'shared', 'pulumi'),
      backendDir: join(repoRoot, '.hks', 'pulumi'),
    });
  });

  it('follows XDG_CACHE_HOME, and HKS_PULUMI_CACHE and HKS_PULUMI_SOURCES over everything', () => {
    expect(toolchainConfig({ XDG_CACHE_HOME: '/x/cache' }).cacheDir).toBe('/x/cache/hks/pulumi');
    const config = toolchainConfig({
      XDG_CACHE_HOME: '/x/cache',
      HKS_PULUMI_CACHE: '/y/pulumi',
      HKS_PULUMI_SOURCES: '/z/sources',
    });
    expect(config.cacheDir).toBe('/y/pulumi');
    expect(config.sourcesDir).toBe('/z/sources');
  });
});

describe('toolchainVersions', () => {
  it('takes the versions package-lock.json installs, which are the ones package.json pins', () => {
    const versions = toolchainVersions();
    expect(versions.pulumi).toBe(packageJson.devDependencies['@pulumi/pulumi']);
    expect(versions.kubernetesPlugin).toBe(packageJson.devDependencies['@pulumi/kubernetes']);
  });

  it('is the plugin version the installed @pulumi/kubernetes asks the engine for', () => {
    const sdk = JSON.parse(
      readFileSync(join(repoRoot, 'node_modules/@pulumi/kubernetes/package.json'), 'utf8'),
    ) as { pulumi: { name: string; version: string } };
    expect(sdk.pulumi).toMatchObject({
      name: 'kubernetes',
      version: toolchainVersions().kubernetesPlugin,
    });
  });

  it('names the package when the lock file lacks it or holds no plain version', () => {
    expect(() => lockedVersion({ packages: {} }, '@pulumi/pulumi')).toThrow(
      'package-lock.json: expected "node_modules/@pulumi/pulumi" with a version x.y.z, got null',
    );
    expect(() =>
      lockedVersion(
        { packages: { 'node_modules/@pulumi/pulumi': { version: '^3.0.0' } } },
        '@pulumi/pulumi',
      ),
    ).toThrow('got "^3.0.0"');
  });
});

describe('wrapper modules', () => {
  it('pin the CLI at the version of @pulumi/pulumi', () => {
    expect(() => checkCliWrapper(toolchainVersions().pulumi)).not.toThrow();
  });

  it('refuse a CLI wrapper that pins another Pulumi than package-lock.json', () => {
    const { pulumi } = toolchainVersions();
    expect(() => checkCliWrapper('3.1.0')).toThrow(
      `tools/pulumi/go/cli/go.mod requires github.com/pulumi/pulumi/pkg/v3 v${pulumi}, but ` +
        'package-lock.json has @pulumi/pulumi 3.1.0; keep them in step (v3.1.0)',
    );
  });

  it('pin the provider at the one version the Go proxy serves (tag v4.25.0)', () => {
    expect(wrapperPin('provider', providerModule)).toBe('v4.0.0-20260115033456-f47bc2d6f199');
    expect(() => wrapperPin('provider', 'example.com/absent')).toThrow(
      'tools/pulumi/go/provider/go.mod requires no example.com/absent',
    );
  });

  it('read pins in require blocks and single require lines', () => {
    const goMod = 'module m\n\nrequire a.b/c v1.2.3\n\nrequire (\n\td.e/f v0.1.0 // indirect\n)\n';
    expect(pinnedVersion(goMod, 'a.b/c')).toBe('v1.2.3');
    expect(pinnedVersion(goMod, 'd.e/f')).toBe('v0.1.0');
    expect(pinnedVersion(goMod, 'd.e')).toBeUndefined();
  });
});

describe('cacheMiss', () => {
  it('needs every binary and the stamp of the same pins', () => {
    mkdirSync(join(scratch, 'bin'));
    writeFileSync(join(scratch, 'bin', 'a'), '');
    const stamp = join(scratch, 'source.txt');
    expect(cacheMiss(scratch, ['a'], 'm v1\n')).toBe(`${stamp} does not name the pins m v1`);
    writeSource(scratch, 'm v1\nn v1\n');
    expect(cacheMiss(scratch, ['a'], 'm v1\nn v1\n')).toBeUndefined();
    expect(cacheMiss(scratch, ['a'], 'm v2\n')).toBe(`${stamp} does not name the pins m v2`);
    expect(cacheMiss(scratch, ['a', 'b'], 'm v1\nn v1\n')).toBe(
      `${join(scratch, 'bin', 'b')} is missing`,
    );
  });
});

describe('provider embeds', () => {
  it('set the schema version to the plugin version, compact, keeping every other field', () => {
    const schema = JSON.stringify(
      { name: 'kubernetes', version: '', resources: { a: 1 } },
      null,
      4,
    );
    const embed = schemaEmbed(schema, '4.34.2');
    expect(embed).not.toContain('\n');
    expect(JSON.parse(embed)).toEqual({
      name: 'kubernetes',
      version: '4.34.2',
      resources: { a: 1 },
    });
  });

  it('write the terraform mapping compact and unchanged', () => {
    const mapping = { resources: { kubernetes_pod: { fields: {} } } };
    const embed = terraformMappingEmbed(JSON.stringify(mapping, null, 2));
    expect(embed).toBe(JSON.stringify(mapping));
  });
});

describe('pulumiEnvironment', () => {
  const config = { cacheDir: '/c', sourcesDir: '/s', backendDir: '/repo/.hks/pulumi' };
  const layout = toolchainLayout(config, { pulumi: '3.248.0', kubernetesPlugin: '4.34.2' });

  it('lays the cache out by version', () => {
    expect(layout).toEqual({
      cliDir: '/c/3.248.0',
      cliBin: '/c/3.248.0/bin',
      pulumi: '/c/3.248.0/bin/pulumi',
      languageHost: '/c/3.248.0/bin/pulumi-language-nodejs',
      providerDir: '/c/kubernetes-4.34.2',
      provider: '/c/kubernetes-4.34.2/bin/pulumi-resource-kubernetes',
      home: '/c/home',
    });
  });

  it('puts the CLI and language host first on PATH, offline, on the local file backend', () => {
    const env = pulumiEnvironment(layout, config, { PATH: '/usr/bin', OTHER: 'kept' });
    expect(env).toEqual({
      PATH: `/c/3.248.0/bin${delimiter}/usr/bin`,
      OTHER: 'kept',
      PULUMI_HOME: '/c/home',
      PULUMI_SKIP_UPDATE_CHECK: '1',
      PULUMI_DISABLE_REGISTRY_RESOLVE: 'true',
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
      PULUMI_BACKEND_URL: 'file:///repo/.hks/pulumi',
    });
  });

  it("keeps the user's own PULUMI_BACKEND_URL and replaces PULUMI_HOME", () => {
    const env = pulumiEnvironment(layout, config, {
      PULUMI_BACKEND_URL: 's3://bucket/state',
      PULUMI_HOME: '/home/u/.pulumi',
    });
    expect(env.PULUMI_BACKEND_URL).toBe('s3://bucket/state');
    expect(env.PULUMI_HOME).toBe('/c/home');
    expect(env.PATH).toBe('/c/3.248.0/bin');
  });

  it('creates the local backend folder only when it is used', () => {
    const local = { ...config, backendDir: join(scratch, 'state') };
    prepareBackend(local, { PULUMI_BACKEND_URL: 'file:///elsewhere' });
    expect(existsSync(local.backendDir)).toBe(false);
    prepareBackend(local, {});
    expect(existsSync(local.backendDir)).toBe(true);
  });
});
