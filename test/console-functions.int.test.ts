import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { ApiProcess, startApi, testStores, token } from './api/api-process';
import { kubectlJson, kubectlOk } from './cluster/kubectl';
import { waitFor } from './cluster/wait';
import {
  ConsoleBrowser,
  PageGlobals,
  PageRecord,
  describeWithBrowser,
  expectAccessible,
  launchConsoleBrowser,
  screenshot,
  signIn,
} from './console/browser';
import { StandInProcess, startStandIn } from './support/knative-stand-in';

jest.setTimeout(300_000);

/*
 * The console's functions pages in Debian's Chromium against a real API process on the test
 * cluster, Knative played by the stand-in (dev/knative), which runs the real Python bootstrap
 * on the code the API stored: deploy a function from the browser (a syntax error first, shown
 * on its line), see it become Ready with its URL, invoke it with a JSON body (status, headers,
 * body and the invocation's own logs), deploy a second revision, split the traffic 50/50 with
 * tags (a split not adding up to 100 refused by the page first), follow its logs. Each page
 * is checked with axe-core at 1280 px and at phone width, and photographed.
 */

const PROJECT = 'webfunctions';
const NAME = 'greet';

/** Python reports the unclosed brace on the line it opens: line 3. */
const BROKEN = [
  'def handler(event, context):',
  '    print("greeting", event.get("name"))',
  '    return {"message": "Hello, " + event.get("name", "world")',
  '',
].join('\n');
const FIXED = BROKEN.replace('"world")', '"world")}');

interface DomElement {
  readonly id: string;
  readonly value?: string;
  getAttribute(name: string): string | null;
}
const activeElement = (page: Page) =>
  page.evaluate(() => {
    const el = (globalThis as unknown as PageGlobals & { document: { activeElement: DomElement } })
      .document.activeElement;
    return { id: el.id, value: el.value };
  });

describeWithBrowser('test/console-functions.int.test.ts')('the functions pages in Chromium', () => {
  const prefix = `wf${randomBytes(2).toString('hex')}-`;
  const namespace = `${prefix}${PROJECT}`;
  let standIn: StandInProcess;
  let api: ApiProcess;
  let userToken: string;
  let browser: ConsoleBrowser;
  let page: Page;
  let rec: PageRecord;

  /** Chromium logs a failed response itself: the errors a step expects, then forgotten. */
  const expectOnlyErrors = (expected: string[]) => {
    expect(rec.errors).toEqual(expected);
    rec.errors.length = 0;
  };
  const revisionRow = (revision: string) =>
    page.locator('table.function-revisions').getByRole('row', { name: new RegExp(revision) });
  /** axe-core at 1280 px and at phone width, photographed as `name` (and `phoneName`) if given. */
  const checkBothWidths = async (what: string, name?: string, phoneName?: string) => {
    await expectAccessible(page, what);
    if (name) await screenshot(page, name);
    await page.setViewportSize({ width: 390, height: 844 });
    await expectAccessible(page, `${what} at phone width`);
    if (phoneName) await screenshot(page, phoneName);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  beforeAll(async () => {
    standIn = await startStandIn(prefix);
    api = await startApi({
      ...(await testStores()[0].env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_RECORDER: 'off',
    });
    userToken = await token([PROJECT], undefined, '30m');
    browser = await launchConsoleBrowser();
    ({ page, rec } = browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await standIn?.stop();
    await kubectlOk(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  test('sign in; the project has no functions yet: the empty list links to the deploy page', async () => {
    await signIn(page, api.url, userToken);
    await page.getByRole('link', { name: 'Functions', exact: true }).click();
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    await page.getByText(`No functions in project ${PROJECT} yet.`).waitFor();
    await checkBothWidths('functions, none yet');
    await page.getByRole('link', { name: 'Deploy a function' }).click();
    await page.getByRole('heading', { name: 'Deploy a function' }).waitFor();
  });

  test("deploy with a syntax error: the API's message on its line, the editor invalid and described by it", async () => {
    await page.getByLabel('Name').fill(NAME);
    expect(await page.getByLabel('Runtime').inputValue()).toBe('python3.12');
    expect(await page.getByLabel('Handler').inputValue()).toBe('main.handler');
    const code = page.getByLabel('Code');
    await code.fill(BROKEN);
    // Tab indents in the editor; Esc, then Tab, leaves it (no keyboard trap).
    await code.press('End');
    await code.press('Tab');
    expect((await activeElement(page)).id).toBe('function-code');
    expect(await code.inputValue()).toBe(`${BROKEN}    `);
    await code.press('Escape');
    await code.press('Tab');
    expect((await activeElement(page)).id).not.toBe('function-code');
    await code.fill(BROKEN);

    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const error = page.locator('#function-code-error');
    await error.waitFor();
    const text = (await error.textContent()) ?? '';
    expect(text).toContain('Line 3:');
    expect(text).toMatch(/SyntaxError: '\{' was never closed \(main\.py line 3\)/);
    // The one line marked in the gutter is line 3, and the band across the code is there.
    expect(await page.locator('.function-editor-gutter span.error').allTextContents()).toEqual([
      '3',
    ]);
    await page.locator('.function-editor-band').waitFor();
    expect(await code.getAttribute('aria-invalid')).toBe('true');
    expect((await code.getAttribute('aria-describedby'))?.split(' ')).toContain(
      'function-code-error',
    );
    // The problem itself, as the API gave it, and the focus on the field in error.
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Invalid source code');
    expect((await activeElement(page)).id).toBe('function-code');
    await page.getByRole('button', { name: 'Go to line 3' }).click();
    const caret = await page.evaluate(() => {
      const el = (
        globalThis as unknown as {
          document: { getElementById(id: string): { selectionStart: number; value: string } };
        }
      ).document.getElementById('function-code');
      return el.value.slice(0, el.selectionStart).split('\n').length;
    });
    expect(caret).toBe(3);
    await checkBothWidths('deploy, syntax error', 'function-deploy');
    expectOnlyErrors([
      'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
    ]);
    // Nothing was applied.
    const services = await kubectlJson<{ items: unknown[] }>([
      'get',
      'services.serving.knative.dev',
      '-n',
      namespace,
      '--ignore-not-found',
    ]).catch(() => ({ items: [] }));
    expect(services.items ?? []).toEqual([]);
  });

  test('fixed and deployed: the page goes to the function, which becomes Ready with its URL', async () => {
    const code = page.getByLabel('Code');
    await code.fill(FIXED);
    // Editing the code clears the mark.
    expect(await code.getAttribute('aria-invalid')).toBeNull();
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.getByRole('heading', { name: NAME, exact: true }).waitFor();
    expect(page.url()).toContain(`#/projects/${PROJECT}/functions/${NAME}?deployed=1`);
    const facts = page.locator('dl.function-facts');
    await facts.locator('.badge.function-ready').waitFor({ timeout: 60_000 });
    await page.getByRole('status').filter({ hasText: 'Ready at revision greet-00001' }).waitFor();
    // The stand-in serves each function on 127.0.0.1 (Knative: http://greet.<namespace>.<domain>).
    await expect(facts.locator('.function-url').textContent()).resolves.toMatch(/^http:\/\//);
    const revision = revisionRow('greet-00001');
    await expect(revision.locator('td[data-label="Traffic"]').textContent()).resolves.toBe('100%');
  });

  test("invoke with a JSON body: status, headers, body and the invocation's own logs", async () => {
    const body = page.getByLabel('Request body');
    await body.fill('{name: Ada}');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await page
      .locator('#invoke-body-error')
      .getByText(/^Request body: not JSON/)
      .waitFor();
    expect(await body.getAttribute('aria-invalid')).toBe('true');
    expect(await body.getAttribute('aria-describedby')).toBe('invoke-body-error');
    expect(rec.requests.filter((r) => r.url.endsWith('/invoke'))).toEqual([]);

    await body.fill('{"name": "Ada"}');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    const result = page.getByRole('region', { name: 'Response' });
    await result.waitFor();
    await expect(result.locator('.facts dd').first().textContent()).resolves.toMatch(/^200\b/);
    const headers = result.locator('dl.function-headers');
    await expect(headers.textContent()).resolves.toContain('content-type');
    await expect(headers.textContent()).resolves.toContain('application/json');
    await expect(headers.textContent()).resolves.toContain('x-request-id');
    const shown = JSON.parse((await result.getByLabel('Response body').textContent()) ?? '');
    expect(shown).toEqual({ message: 'Hello, Ada' });
    await expect(result.getByLabel('Logs of this invocation').textContent()).resolves.toBe(
      'greeting Ada\n',
    );
  });

  test('a second revision from the function page, then the traffic split 50/50 with tags', async () => {
    await page.getByRole('link', { name: 'Edit code and redeploy' }).click();
    await page.getByRole('heading', { name: `Edit and redeploy ${NAME}` }).waitFor();
    const code = page.getByLabel('Code');
    expect(await code.inputValue()).toBe(FIXED);
    expect(await page.getByLabel('Name').getAttribute('readonly')).not.toBeNull();
    await checkBothWidths('edit and redeploy');
    await code.fill(FIXED.replace('"Hello, "', '"Bonjour, "'));
    await page.getByRole('button', { name: 'Redeploy' }).click();
    await page.getByRole('heading', { name: NAME, exact: true }).waitFor();
    expect(page.url()).toContain('?deployed=2');
    await page
      .getByRole('status')
      .filter({ hasText: 'Ready at revision greet-00002' })
      .waitFor({ timeout: 60_000 });
    await revisionRow('greet-00002').waitFor();

    // Target 1: greet-00002 at 50 %, tagged current; target 2: greet-00001, tagged previous.
    await page.getByLabel('Revision of target 1').selectOption('greet-00002');
    await page.getByLabel('Percent of target 1').fill('50');
    await page.getByLabel('Tag of target 1').fill('current');
    await page.getByRole('button', { name: 'Add a target' }).click();
    await page.getByLabel('Revision of target 2').selectOption('greet-00001');
    await page.getByLabel('Percent of target 2').fill('40');
    await page.getByLabel('Tag of target 2').fill('previous');
    await page.getByText('Total: 90% — the percentages must add up to 100').waitFor();
    const puts = () => rec.requests.filter((r) => r.url.endsWith(`/functions/${NAME}/traffic`));
    await page.getByRole('button', { name: 'Save traffic split' }).click();
    await page
      .locator('#traffic-sum-error')
      .getByText('given percentages summing to 90, expected 100')
      .waitFor();
    const percent = page.getByLabel('Percent of target 1');
    expect(await percent.getAttribute('aria-invalid')).toBe('true');
    expect(await percent.getAttribute('aria-describedby')).toContain('traffic-sum-error');
    expect(puts()).toEqual([]);
    await checkBothWidths('traffic split refused');

    await page.getByLabel('Percent of target 2').fill('50');
    await page.getByRole('button', { name: 'Save traffic split' }).click();
    await page
      .getByRole('status')
      .filter({
        hasText: 'Traffic split saved: greet-00002 50% (current), greet-00001 50% (previous).',
      })
      .waitFor();
    expect(puts()).toHaveLength(1);
    const service = await kubectlJson<{
      spec: { traffic: Record<string, unknown>[] };
      status: { traffic?: Record<string, unknown>[] };
    }>(['get', 'services.serving.knative.dev', NAME, '-n', namespace]);
    expect(service.spec.traffic).toEqual([
      { revisionName: 'greet-00002', latestRevision: false, tag: 'current', percent: 50 },
      { revisionName: 'greet-00001', latestRevision: false, tag: 'previous', percent: 50 },
    ]);
    await expect(
      revisionRow('greet-00001').locator('td[data-label="Tags"]').textContent(),
    ).resolves.toBe('previous');
    await expect(
      revisionRow('greet-00002').locator('td[data-label="Traffic"]').textContent(),
    ).resolves.toBe('50%');

    // A tag picks its revision: the old greeting.
    await page.getByLabel('Send to').selectOption('previous');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    const result = page.getByRole('region', { name: 'Response' });
    await result.getByLabel('Response body').getByText('Hello, Ada').waitFor();
    await page.getByLabel('Send to').selectOption('current');
    await page.getByRole('button', { name: 'Invoke', exact: true }).click();
    await result.getByLabel('Response body').getByText('Bonjour, Ada').waitFor();
  });

  test('logs are followed; leaving the page aborts the follow; the list shows readiness, URL and traffic', async () => {
    const logs = page.getByLabel('Function logs');
    await page.getByText("Following the function's logs…").waitFor();
    await logs.getByText('greeting Ada').first().waitFor({ timeout: 30_000 });
    await checkBothWidths('function', 'function', 'function-phone');
    const seen = rec.requests.length;
    await page
      .getByRole('navigation', { name: 'Breadcrumb' })
      .getByRole('link', { name: 'Functions', exact: true })
      .click();
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    await waitFor('the follow aborted', 10_000, async () =>
      rec.aborted.some((url) => url.includes(`/functions/${NAME}/logs?follow=true`)),
    );
    expect(rec.requests.length).toBeGreaterThan(seen);
    const row = page.getByRole('row', { name: new RegExp(NAME) });
    await row.waitFor();
    await expect(row.locator('td[data-label="Readiness"]').textContent()).resolves.toContain(
      'Ready',
    );
    await expect(row.locator('td[data-label="URL"]').textContent()).resolves.toMatch(/^http:\/\//);
    await expect(row.locator('td[data-label="Traffic"]').textContent()).resolves.toBe(
      'greet-00002 50% (current), greet-00001 50% (previous)',
    );
    await checkBothWidths('functions', 'functions');
  });

  test('the page logged no error, loaded nothing from elsewhere, sent the token only as Authorization', () => {
    expect(rec.errors).toEqual([]);
    const origin = new URL(api.url).origin;
    const elsewhere = rec.requests.filter((r) => !r.url.startsWith(`${origin}/`));
    expect(elsewhere).toEqual([]);
    expect(rec.requests.filter((r) => r.url.includes(userToken))).toEqual([]);
    const apiCalls = rec.requests.filter((r) => r.url.startsWith(`${origin}/api/v1/`));
    expect(apiCalls.length).toBeGreaterThan(5);
    for (const call of apiCalls) expect(call.authorization).toMatch(/^Bearer \S+$/);
    const files = rec.requests.filter((r) => r.url.startsWith(`${origin}/console/`));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(file.authorization).toBeUndefined();
  });
});
