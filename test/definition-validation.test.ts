import { join } from 'node:path';
import {
  checkDefinitions,
  DefinitionError,
  DefinitionInput,
  formatProblem,
  loadDefinitions,
} from '../constructs';
import { cronJobDoc, statelessDoc, writeAppsDir } from './support/definitions';

/** The formatted problems of a set of documents (one file, documents numbered from 1). */
function problemsOf(...documents: unknown[]): string[] {
  const inputs: DefinitionInput[] = documents.map((document, i) => ({
    document,
    source: { file: 'apps/test.yaml', document: i + 1 },
  }));
  try {
    checkDefinitions(inputs);
  } catch (error) {
    if (error instanceof DefinitionError) return error.problems.map(formatProblem);
    throw error;
  }
  return [];
}

describe('a single definition', () => {
  test('valid definitions of every kind pass', () => {
    expect(
      problemsOf(
        statelessDoc('api', { port: 8080 }),
        cronJobDoc('job'),
        cronJobDoc('report', { image: undefined, template: 'api' }),
      ),
    ).toEqual([]);
  });

  test('names must be DNS labels short enough for Job suffixes', () => {
    expect(problemsOf(statelessDoc('Shop_API'))).toEqual([
      'apps/test.yaml:1: metadata.name: given "Shop_API", expected a name: a DNS-1123 label of lower-case letters, digits and \'-\', starting with a letter and ending with a letter or digit',
    ]);
    expect(problemsOf(cronJobDoc('x'.repeat(53)))[0]).toMatch(
      /metadata\.name: given "x{53}" \(53 characters\), expected at most 52 characters/,
    );
    expect(problemsOf(statelessDoc('api', {}, 'Shop'))[0]).toMatch(
      /^apps\/test.yaml:1: metadata.project: given "Shop", expected a project name/,
    );
  });

  test('unknown kinds name the kinds there are', () => {
    expect(problemsOf({ ...statelessDoc(), kind: 'Deployment' })).toEqual([
      'apps/test.yaml:1: kind: given "Deployment", expected one of StatelessApplication, CronJob, Function',
    ]);
    expect(problemsOf({ metadata: {} })).toEqual([
      'apps/test.yaml:1: kind: given nothing, expected one of StatelessApplication, CronJob, Function',
      'apps/test.yaml:1: apiVersion: given nothing, expected "hks.hexabase.io/v1"',
    ]);
  });

  test('a wrong apiVersion is reported', () => {
    expect(problemsOf({ ...statelessDoc(), apiVersion: 'v1' })).toEqual([
      'apps/test.yaml:1: apiVersion: given "v1", expected "hks.hexabase.io/v1"',
    ]);
  });

  test('a document that is not a mapping', () => {
    expect(problemsOf(['a'])).toEqual([
      'apps/test.yaml:1: given a list, expected a mapping with apiVersion, kind, metadata and spec',
    ]);
  });

  test('unknown fields are reported one by one with the fields allowed', () => {
    const problems = problemsOf(statelessDoc('api', { replica: 2, ports: [80] }));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(
      /^apps\/test.yaml:1: spec.replica: unknown field, expected only image, command, args, env, secretEnv, envFrom, resources, serviceAccount, port, replicas$/,
    );
    expect(problems[1]).toMatch(/^apps\/test.yaml:1: spec.ports: unknown field/);
    expect(problemsOf({ ...statelessDoc(), status: {} })[0]).toMatch(
      /^apps\/test.yaml:1: status: unknown field, expected only apiVersion, kind, metadata, spec$/,
    );
  });

  test('missing and mistyped fields', () => {
    expect(problemsOf(statelessDoc('api', { image: undefined }))).toEqual([
      'apps/test.yaml:1: spec.image: missing, expected a string',
    ]);
    expect(problemsOf(statelessDoc('api', { replicas: 'two' }))).toEqual([
      'apps/test.yaml:1: spec.replicas: given "two", expected a number',
    ]);
    expect(problemsOf(statelessDoc('api', { replicas: 1.5 }))).toEqual([
      'apps/test.yaml:1: spec.replicas: given 1.5, expected a whole number',
    ]);
    expect(problemsOf(statelessDoc('api', { port: 70000 }))).toEqual([
      'apps/test.yaml:1: spec.port: given 70000, expected at most 65535',
    ]);
    expect(problemsOf(statelessDoc('api', { command: 'node' }))).toEqual([
      'apps/test.yaml:1: spec.command: given "node", expected a list',
    ]);
  });

  test('quantities', () => {
    expect(
      problemsOf(statelessDoc('api', { resources: { cpu: 'lots', memory: '256MB' } })),
    ).toEqual([
      'apps/test.yaml:1: spec.resources.cpu: given "lots", expected a CPU amount such as 250m, 0.5 or 2 (whole millicores, more than 0)',
      'apps/test.yaml:1: spec.resources.memory: given "256MB", expected a memory amount such as 128Mi, 1Gi or 1.5Gi',
    ]);
    expect(
      problemsOf(statelessDoc('api', { resources: { memory: '512Mi', memoryLimit: '256Mi' } })),
    ).toEqual([
      'apps/test.yaml:1: spec.resources.memoryLimit: given "256Mi", expected at least the memory request "512Mi"',
    ]);
  });

  test('environment, secrets and envFrom', () => {
    expect(problemsOf(statelessDoc('api', { env: { '1BAD': 'x' } }))[0]).toMatch(
      /spec.env\["1BAD"\]: given "1BAD", expected an environment variable name/,
    );
    expect(
      problemsOf(
        statelessDoc('api', { env: { A: 'x' }, secretEnv: { A: { secret: 's', key: 'k' } } }),
      ),
    ).toEqual([
      'apps/test.yaml:1: spec.secretEnv.A: given "A" in both env and secretEnv, expected each variable once',
    ]);
    expect(problemsOf(statelessDoc('api', { secretEnv: { A: { secret: 'Bad_Name' } } }))).toEqual([
      "apps/test.yaml:1: spec.secretEnv.A.secret: given \"Bad_Name\", expected a Kubernetes object name: lower-case letters, digits, '-' and '.', at most 253 characters",
      'apps/test.yaml:1: spec.secretEnv.A.key: missing, expected a string',
    ]);
    expect(
      problemsOf(statelessDoc('api', { envFrom: [{ configMap: 'a', secret: 'b' }, {}] })),
    ).toEqual([
      'apps/test.yaml:1: spec.envFrom[0]: given both configMap and secret, expected exactly one of them',
      'apps/test.yaml:1: spec.envFrom[1]: given neither configMap and secret, expected exactly one of them',
    ]);
  });

  test('labels may not use the platform prefixes', () => {
    const doc = statelessDoc();
    expect(
      problemsOf({
        ...doc,
        metadata: { ...doc.metadata, labels: { 'hks.hexabase.io/app': 'x' } },
      })[0],
    ).toMatch(
      /metadata.labels\["hks.hexabase.io\/app"\]: given "hks.hexabase.io\/app", expected a key outside hks.hexabase.io\//,
    );
  });

  test('CronJob: neither or both of template and image', () => {
    expect(problemsOf(cronJobDoc('job', { image: undefined }))).toEqual([
      'apps/test.yaml:1: spec.image: given neither template nor image, expected exactly one of them',
    ]);
    expect(problemsOf(statelessDoc('api'), cronJobDoc('job', { template: 'api' }))).toEqual([
      'apps/test.yaml:2: spec.template: given both template and image, expected exactly one of them',
    ]);
  });

  test('CronJob: schedules, time zones and enums', () => {
    expect(problemsOf(cronJobDoc('job', { schedule: '0 0 3 * * *' }))).toEqual([
      'apps/test.yaml:1: spec.schedule: given "0 0 3 * * *" (6 fields; Kubernetes has no seconds field), expected 5 fields "minute hour day-of-month month day-of-week" (e.g. "0 3 * * *") or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
    ]);
    expect(problemsOf(cronJobDoc('job', { schedule: '0 25 * * *' }))[0]).toMatch(
      /spec.schedule: given "0 25 \* \* \*": hour field "25": "25" is not allowed, expected values 0-23/,
    );
    expect(problemsOf(cronJobDoc('job', { schedule: 'CRON_TZ=Asia/Tokyo 0 3 * * *' }))[0]).toMatch(
      /use|set the time zone with the separate timeZone field/,
    );
    expect(problemsOf(cronJobDoc('job', { timeZone: 'Asia/Tokio' }))).toEqual([
      'apps/test.yaml:1: spec.timeZone: given "Asia/Tokio", expected an IANA time zone such as Asia/Tokyo, Europe/Berlin or UTC',
    ]);
    expect(problemsOf(cronJobDoc('job', { concurrencyPolicy: 'Never' }))).toEqual([
      'apps/test.yaml:1: spec.concurrencyPolicy: given "Never", expected "Allow" | "Forbid" | "Replace"',
    ]);
    expect(problemsOf(cronJobDoc('job', { restartPolicy: 'Always' }))).toEqual([
      'apps/test.yaml:1: spec.restartPolicy: given "Always", expected "Never" | "OnFailure"',
    ]);
    expect(problemsOf(cronJobDoc('job', { startingDeadlineSeconds: 5 }))).toEqual([
      'apps/test.yaml:1: spec.startingDeadlineSeconds: given 5, expected at least 10',
    ]);
  });
});

describe('the set of definitions', () => {
  test('a template must exist in the same project', () => {
    expect(
      problemsOf(statelessDoc('api'), cronJobDoc('job', { image: undefined, template: 'web' })),
    ).toEqual([
      'apps/test.yaml:2: spec.template: given "web" (not found in project "shop"), expected one of api',
    ]);
    expect(
      problemsOf(
        statelessDoc('api', {}, 'other'),
        cronJobDoc('job', { image: undefined, template: 'api' }),
      ),
    ).toEqual([
      'apps/test.yaml:2: spec.template: given "api" (not found in project "shop"), expected a StatelessApplication of project "shop", but it has none',
    ]);
  });

  test('a template must be a StatelessApplication', () => {
    expect(
      problemsOf(cronJobDoc('base'), cronJobDoc('job', { image: undefined, template: 'base' })),
    ).toEqual([
      'apps/test.yaml:2: spec.template: given "base", which is a CronJob, expected a StatelessApplication of project "shop", but it has none',
    ]);
  });

  test('names are unique within a project, across kinds', () => {
    expect(
      problemsOf(statelessDoc('api'), cronJobDoc('api'), statelessDoc('api', {}, 'other')),
    ).toEqual([
      'apps/test.yaml:2: metadata.name: given "api", expected a name not used elsewhere in project "shop" (already used by the StatelessApplication at apps/test.yaml:1)',
    ]);
  });

  test('every problem of every document is reported at once', () => {
    const problems = problemsOf(
      statelessDoc('api', { resources: { cpu: 'lots' } }),
      cronJobDoc('job', { schedule: '* * * * * *', timeZone: 'Nowhere' }),
      { ...statelessDoc('x'), kind: 'Nope' },
    );
    expect(problems.map((p) => p.split(': ').slice(0, 2).join(': '))).toEqual([
      'apps/test.yaml:1: spec.resources.cpu',
      'apps/test.yaml:2: spec.schedule',
      'apps/test.yaml:2: spec.timeZone',
      'apps/test.yaml:3: kind',
    ]);
  });
});

describe('YAML files', () => {
  test('problems carry file, document number and line', () => {
    const dir = writeAppsDir({
      'shop.yaml': [
        'apiVersion: hks.hexabase.io/v1',
        'kind: CronJob',
        'metadata: {name: job, project: shop}',
        'spec:',
        '  image: ghcr.io/acme/job:1',
        '  schedule: "0 0 3 * * *"',
        '---',
        '---',
        'apiVersion: hks.hexabase.io/v1',
        'kind: StatelessApplication',
        'metadata: {name: api, project: shop}',
        'spec:',
        '  image: ghcr.io/acme/api:1',
        '  resources:',
        '    cpu: lots',
        '',
      ].join('\n'),
    });
    expect(() => loadDefinitions(dir, dir)).toThrow(DefinitionError);
    try {
      loadDefinitions(dir, dir);
    } catch (error) {
      const lines = (error as DefinitionError).problems.map(formatProblem);
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(
        /^shop.yaml:1: spec.schedule: given "0 0 3 \* \* \*" .* \(line 6\)$/,
      );
      expect(lines[1]).toMatch(/^shop.yaml:3: spec.resources.cpu: given "lots", .* \(line 15\)$/);
    }
  });

  test('YAML syntax errors and schema errors of other files come together', () => {
    const dir = writeAppsDir({
      'a.yaml': 'apiVersion: [unclosed\n',
      'b.yml': [cronJobDoc('job', { timeZone: 'Nowhere' })],
      'notes.txt': 'ignored',
    });
    try {
      loadDefinitions(dir, dir);
      throw new Error('expected a DefinitionError');
    } catch (error) {
      const lines = (error as DefinitionError).problems.map(formatProblem);
      expect(lines[0]).toMatch(/^a.yaml:1: YAML: .* \(line \d\)$/);
      expect(lines[1]).toMatch(/^b.yml:1: spec.timeZone: given "Nowhere"/);
    }
  });

  test('duplicate keys are a YAML error, not silently merged', () => {
    const dir = writeAppsDir({ 'a.yaml': 'kind: CronJob\nkind: StatelessApplication\n' });
    expect(() => loadDefinitions(dir, dir)).toThrow(/a.yaml:1: YAML: Map keys must be unique/);
  });

  test('a missing folder is an error naming it', () => {
    expect(() => loadDefinitions('/nonexistent/apps')).toThrow(
      /\/nonexistent\/apps:0: given a path that does not exist/,
    );
  });

  test('the example apps are valid', () => {
    const definitions = loadDefinitions(join(__dirname, '..', 'apps'));
    expect(
      definitions.map((d) => `${d.definition.kind}/${d.definition.metadata.name}`).sort(),
    ).toEqual([
      'CronJob/cart-cleanup',
      'CronJob/db-backup',
      'CronJob/nightly-report',
      'Function/greet',
      'Function/nightly-backup',
      'Function/thumbnail-url',
      'StatelessApplication/api',
    ]);
  });
});
