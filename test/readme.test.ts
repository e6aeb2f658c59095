/**
 * The README and the pages under docs/ stay true: short, every relative link reaching a file
 * (and a heading, when it names one), and the README's YAML and TypeScript examples running as
 * written. Its Python example runs against the real API in sdk/python/tests/test_readme.py.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { loadDefinitions } from '../constructs/load-definitions';
import { DefinitionError } from '../constructs/definition-problem';
import { synthesizeDefinitions } from '../constructs/synthesize';

const root = join(__dirname, '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const docPages = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The fenced blocks of one language, in order. */
function blocks(text: string, language: string): string[] {
  return [...text.matchAll(new RegExp('```' + language + '\\n([\\s\\S]*?)```', 'g'))].map(
    (match) => match[1] ?? '',
  );
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings, outside code blocks. */
function anchorsOf(file: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = /^#+ (.*)$/.exec(line);
    if (!fenced && heading?.[1] !== undefined) anchors.add(anchorOf(heading[1]));
  }
  return anchors;
}

/** Relative links of a Markdown page outside code blocks: `[text](target)`. */
function linksOf(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? '')
    .filter((target) => !/^[a-z]+:/.test(target));
}

test('the README stays an overview a newcomer reads quickly (at most 250 lines)', () => {
  expect(readme.split('\n').length).toBeLessThanOrEqual(250);
});

test.each(docPages)('every relative link of %s reaches a file and its heading', (page) => {
  const file = join(root, page);
  const broken = linksOf(readFileSync(file, 'utf8')).filter((target) => {
    const [path = '', anchor] = target.split('#');
    const reached = path === '' ? file : resolve(dirname(file), path);
    if (!existsSync(reached)) return true;
    return anchor !== undefined && reached.endsWith('.md') && !anchorsOf(reached).has(anchor);
  });
  expect(broken).toEqual([]);
});

describe("the README's examples", () => {
  let dir: string;
  // Under the repository, so that the example's imports (cdk8s) resolve from its node_modules.
  beforeEach(() => {
    mkdirSync(join(root, '.hks'), { recursive: true });
    dir = mkdtempSync(join(root, '.hks', 'readme-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('the YAML definitions synthesize; a bad schedule fails with the message quoted', () => {
    const [yaml] = blocks(readme, 'yaml');
    expect(yaml).toBeDefined();
    const apps = join(dir, 'apps');
    writeFileSync(join(dir, 'shop.yaml'), yaml ?? '');
    const files = synthesizeDefinitions(
      loadDefinitions(join(dir, 'shop.yaml')).map((checked) => checked.definition),
      apps,
    );
    expect(files).toEqual(['shop.k8s.yaml']);
    const manifest = readFileSync(join(apps, 'shop.k8s.yaml'), 'utf8');
    expect(manifest).toMatch(/^kind: CronJob$/m);
    expect(manifest).toMatch(/^kind: Service$/m);

    writeFileSync(join(dir, 'shop.yaml'), (yaml ?? '').replace("'0 3 * * *'", "'0 25 * * *'"));
    let message = '';
    try {
      loadDefinitions(join(dir, 'shop.yaml'), dir);
    } catch (error) {
      if (!(error instanceof DefinitionError)) throw error;
      message = error.message;
    }
    const quoted = /A bad document changes nothing and says why, e\.g\. `([^`]*)`/s.exec(readme);
    expect(quoted?.[1]).toBeDefined();
    const expected = (quoted?.[1] ?? '')
      .replace(/\s+/g, ' ')
      .replace('apps/shop.yaml', 'shop.yaml');
    expect(message.replace(/\s+/g, ' ')).toContain(expected);
  });

  test('the TypeScript example synthesizes its CronJob', async () => {
    const [code] = blocks(readme, 'ts');
    expect(code).toContain("from 'hks-platform'");
    const constructs = relative(dir, join(root, 'constructs')).split('\\').join('/');
    const program = join(dir, 'chart.ts');
    writeFileSync(program, (code ?? '').replace("'hks-platform'", `'${constructs}'`));
    const outdir = join(dir, 'dist');
    const previous = process.env.CDK8S_OUTDIR;
    process.env.CDK8S_OUTDIR = outdir;
    try {
      await jest.isolateModulesAsync(async () => {
        await import(program);
      });
    } finally {
      if (previous === undefined) delete process.env.CDK8S_OUTDIR;
      else process.env.CDK8S_OUTDIR = previous;
    }
    const [file] = readdirSync(outdir);
    const manifest = readFileSync(join(outdir, file ?? ''), 'utf8');
    expect(manifest).toMatch(/^kind: CronJob$/m);
    expect(manifest).toContain('timeZone: Asia/Tokyo');
  });
});
