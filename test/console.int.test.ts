import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { API_VERSION } from '../constructs';
import { ApiProcess, projectRequest, startApi, token } from './api/api-process';
import { kubectlJson, kubectlOk } from './cluster/kubectl';
import { fakeContainerLogLine } from './cluster/kwok-config';
import {
  describeOnRealNode,
  expectRealNodeReady,
  placeOnRealNode,
} from './cluster/real-node-placement';
import { waitFor } from './cluster/wait';
import {
  ConsoleBrowser,
  PageGlobals,
  PageRecord,
  describeWithBrowser,
  expectAccessible,
  launchConsoleBrowser,
  screenshot,
} from './console/browser';

jest.setTimeout(300_000);

/*
 * The web console (/console) in Debian's Chromium, driven by playwright-core, against a real
 * API process on the test cluster: sign in with a pasted token, pick a project, see the
 * CronJobs defined through the API, Run now, watch the execution appear, read its logs. Every
 * page is checked with axe-core (no serious or critical violations) and photographed: into
 * docs/console-*.png (docs/console.md shows them) with HKS_CONSOLE_SCREENSHOTS=docs, else into a
 * temporary folder, so a test run leaves the committed pictures alone. Nothing in the page may log an error, load
 * anything from another origin, or put the token anywhere but the Authorization header.
 */

const PROJECT = 'webconsole';
const OTHER_PROJECT = 'webconsole-two';
const REAL_PROJECT = 'webconsole-real';
/** The API keeps this much of each log (its minimum), so the real node's log is cut. */
const LOG_LIMIT_BYTES = 1024;

const cronJob = (project: string, name: string, spec: Record<string, unknown>, labels = {}) => ({
  apiVersion: API_VERSION,
  kind: 'CronJob',
  metadata: { name, project, labels },
  spec: { image: 'ghcr.io/acme/report:1', ...spec },
});

const definitions = [
  cronJob(PROJECT, 'nightly', { schedule: '30 2 * * *', timeZone: 'Europe/Paris' }),
  // The test cluster's fake nodes end pods labelled hks.dev/exit-code with that exit code.
  cronJob(
    PROJECT,
    'failing',
    { schedule: '0 0 1 1 *', backoffLimit: 0 },
    { 'hks.dev/exit-code': '3' },
  ),
  cronJob(PROJECT, 'paused', { schedule: '@hourly', suspend: true }),
  cronJob(OTHER_PROJECT, 'other-report', { schedule: '*/5 * * * *' }),
];

describeWithBrowser('test/console.int.test.ts')('the web console in Chromium', () => {
  const prefix = `w${randomBytes(2).toString('hex')}-`;
  let api: ApiProcess;
  let userToken: string;
  let browser: ConsoleBrowser;
  let page: Page;
  let rec: PageRecord;

  const apiRequest = (project: string, method: string, path: string, body?: unknown) =>
    projectRequest(
      api,
      project,
      { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
      method,
      path,
      body,
    );

  beforeAll(async () => {
    api = await startApi({
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_LOG_LIMIT_BYTES: String(LOG_LIMIT_BYTES),
    });
    userToken = await token([PROJECT, OTHER_PROJECT, REAL_PROJECT], undefined, '30m');
    for (const definition of definitions) {
      const res = await apiRequest(
        definition.metadata.project,
        'POST',
        '/applications',
        definition,
      );
      expect(res.status).toBe(201);
    }
    browser = await launchConsoleBrowser();
    ({ page, rec } = browser);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    for (const project of [PROJECT, OTHER_PROJECT, REAL_PROJECT])
      await kubectlOk([
        'delete',
        'namespace',
        `${prefix}${project}`,
        '--wait=false',
        '--ignore-not-found',
      ]);
  });

  test('served by the API: CSP of its own origin, no inline script but the hashed import map', async () => {
    const res = await fetch(`${api.url}/console`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/console/');
    const page = await fetch(`${api.url}/console/`);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'self'");
    expect(policy).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(policy).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  });

  test('sign in: a token the API refuses is shown as its problem and not kept', async () => {
    await page.goto(`${api.url}/console`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await expectAccessible(page, 'sign in');
    await screenshot(page, 'sign-in');
    const forged = await token([PROJECT], 'another-secret-of-at-least-thirty-two-bytes');
    await page.getByLabel('Token').fill(forged);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await expect(alert.textContent()).resolves.toContain('Invalid token');
    await expect(alert.textContent()).resolves.toContain('signature verification failed');
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.length),
    ).toBe(0);
    // Chromium logs the refused request itself: the one error this test allows, once.
    expect(rec.errors).toEqual([
      'console: Failed to load resource: the server responded with a status of 401 (Unauthorized)',
    ]);
    rec.errors.length = 0;
  });

  test('sign in with a pasted token, pick the project, see its CronJobs', async () => {
    await page.getByLabel('Token').fill(userToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Two projects granted: the home page lists them, the header picks one.
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await page.getByLabel('Project').selectOption(OTHER_PROJECT);
    await page.getByRole('link', { name: 'other-report' }).waitFor();
    await page.getByLabel('Project').selectOption(PROJECT);
    await page.getByRole('heading', { name: 'CronJobs' }).waitFor();
    const nightly = page.getByRole('row', { name: /nightly/ });
    await nightly.waitFor();
    const row = (await nightly.textContent()) ?? '';
    expect(row).toContain('30 2 * * *');
    expect(row).toContain('At 02:30'); // cronstrue
    expect(row).toContain('Europe/Paris');
    expect(row).toContain('Active');
    expect(row).toContain('Never');
    // The next run, in the CronJob's zone (CET or CEST).
    expect(row).toMatch(/02:30:00 (CET|CEST|GMT\+1|GMT\+2)/);
    const paused = (await page.getByRole('row', { name: /paused/ }).textContent()) ?? '';
    expect(paused).toContain('Suspended');
    expect(paused).toContain('Every hour');
    expect(paused).toContain('None while suspended');
    expect(
      await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).sessionStorage.getItem('hks.console.token'),
      ),
    ).toBe(userToken);
    expect(
      await page.evaluate(() => (globalThis as unknown as PageGlobals).localStorage.length),
    ).toBe(0);
    await expectAccessible(page, 'CronJobs, none run yet');
  });

  test('Run now starts a Job (with an Idempotency-Key), its execution appears with trigger, status and exit code', async () => {
    await page.getByRole('button', { name: 'Run now: nightly' }).click();
    await page.getByRole('status').filter({ hasText: 'Started Job' }).waitFor();
    const trigger = rec.requests.find((r) => r.url.endsWith('/cronjobs/nightly/trigger'));
    expect(trigger?.idempotencyKey).toMatch(/^[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Run now: failing' }).click();
    await page.getByRole('status').filter({ hasText: 'of failing' }).waitFor();
    await page.getByRole('link', { name: 'See the executions of failing' }).click();
    await page.getByRole('heading', { name: 'Executions of failing' }).waitFor();
    // The first page refreshes by itself every 5 s.
    await page.getByRole('row', { name: /Failed/ }).waitFor({ timeout: 60_000 });
    const failed = (await page.getByRole('row', { name: /Failed/ }).textContent()) ?? '';
    expect(failed).toContain('Manual');
    const failedRow = page.getByRole('row', { name: /Failed/ });
    expect(await failedRow.locator('td[data-label="Exit code"]').textContent()).toBe('3');
    // backoffLimit 0: its one pod, no retry.
    await page.getByRole('columnheader', { name: 'Attempts' }).waitFor();
    expect(await failedRow.locator('td[data-label="Attempts"]').textContent()).toBe('1');
    await page.getByLabel('Status').selectOption('succeeded');
    await page.getByText('No succeeded executions of failing.').waitFor();
    expect(page.url()).toContain('executions?status=succeeded');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('row', { name: /Failed/ }).waitFor();

    await page.goto(`${api.url}/console/#/projects/${PROJECT}/cronjobs/nightly/executions`);
    await page.getByRole('heading', { name: 'Executions of nightly' }).waitFor();
    const done = page.getByRole('row', { name: /Succeeded/ });
    await done.waitFor({ timeout: 60_000 });
    const text = (await done.textContent()) ?? '';
    expect(text).toContain('Manual');
    expect(text).toContain('nightly-manual-');
    expect(await done.locator('td[data-label="Exit code"]').textContent()).toBe('0');
    await expectAccessible(page, 'executions');
    await screenshot(page, 'executions');

    // The list shows the runs: last run, the strip.
    await page.getByRole('link', { name: 'CronJobs', exact: true }).first().click();
    await page.getByRole('heading', { name: 'CronJobs' }).waitFor();
    const nightly = page.getByRole('row', { name: /nightly/ });
    await nightly.locator('.last-run .status-succeeded').waitFor();
    expect(await nightly.getByRole('list', { name: 'Last 1 run, oldest first' }).count()).toBe(1);
    await expectAccessible(page, 'CronJobs');
    await screenshot(page, 'cronjobs');
    await page.setViewportSize({ width: 390, height: 844 });
    await expectAccessible(page, 'CronJobs at phone width');
    await screenshot(page, 'cronjobs-phone');
    await page.setViewportSize({ width: 1280, height: 800 });
    // By address: the name links to the CronJob's own page once that page exists.
    await page.goto(`${api.url}/console/#/projects/${PROJECT}/cronjobs/nightly/executions`);
    await page.getByRole('heading', { name: 'Executions of nightly' }).waitFor();
  });

  test('the log viewer shows the whole log, searches it and downloads it', async () => {
    await page.getByRole('link', { name: /^Logs of nightly-manual-/ }).click();
    await page.getByRole('heading', { name: /^Logs of nightly-manual-/ }).waitFor();
    const log = page.locator('pre.log');
    await expect(log.textContent()).resolves.toContain(fakeContainerLogLine);
    await page.getByLabel('Search the log').fill('KWOK');
    await page.getByText('1 match', { exact: true }).waitFor();
    expect(await page.locator('pre.log mark').allTextContents()).toEqual(['kwok']);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^nightly-manual-[0-9a-f]+\.log$/);
    const saved = readFileSync(await download.path(), 'utf8');
    expect(saved).toContain(fakeContainerLogLine);
    await expectAccessible(page, 'logs');
    await screenshot(page, 'logs');
  });

  test("the project's executions: both CronJobs' runs, filters by status, CronJob and time kept in the address", async () => {
    await page.goto(`${api.url}/console/#/projects/${PROJECT}/executions`);
    await page.getByRole('heading', { name: 'Executions', exact: true }).waitFor();
    const rows = page.locator('table.executions tbody tr');
    await page.getByRole('row', { name: /nightly-manual-/ }).waitFor();
    await page.getByRole('row', { name: /failing-manual-/ }).waitFor();
    expect(await rows.count()).toBe(2);
    const cronJobs = async () =>
      (await rows.locator('td[data-label="CronJob"]').allTextContents()).map((t) => t.trim());
    expect((await cronJobs()).sort()).toEqual(['failing', 'nightly']);
    const failing = page.getByRole('row', { name: /failing-manual-/ });
    expect(await failing.locator('td[data-label="Exit code"]').textContent()).toBe('3');
    expect(await failing.locator('td[data-label="Attempts"]').textContent()).toBe('1');
    await expectAccessible(page, 'project executions');
    await screenshot(page, 'project-executions');

    await page.getByLabel('Status').selectOption('failed');
    await waitFor('only the failed run', 10_000, async () => (await rows.count()) === 1);
    expect(await cronJobs()).toEqual(['failing']);
    expect(page.url()).toContain('/executions?status=failed');

    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('CronJob', { exact: true }).selectOption('nightly');
    await waitFor('only nightly', 10_000, async () => (await cronJobs()).join() === 'nightly');
    expect(page.url()).toContain('/executions?cronjob=nightly');
    // The row's log link opens that run's log.
    expect(
      await page.getByRole('link', { name: /^Logs of nightly-manual-/ }).getAttribute('href'),
    ).toMatch(new RegExp(`^#/projects/${PROJECT}/cronjobs/nightly/executions/[0-9a-f-]+/logs$`));

    // A preset counts back from now: the runs of the last hour are there.
    await page.getByLabel('Started').selectOption('hour');
    expect(page.url()).toContain('cronjob=nightly&range=hour');
    await page.getByRole('row', { name: /nightly-manual-/ }).waitFor();

    // A range of instants, typed in the viewer's zone (UTC here, and said so), with no run.
    await page.getByLabel('Started').selectOption('custom');
    await page.getByText('Times in your zone: UTC, UTC+00:00').waitFor();
    await page.getByLabel('From').fill('2020-01-01T00:00');
    await page.getByLabel('to', { exact: true }).fill('2020-01-02T00:00');
    // What is typed survives the page's re-renders (its clock ticks every second) until Apply.
    await page.waitForTimeout(2500);
    expect(await page.getByLabel('From').inputValue()).toBe('2020-01-01T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText(`No executions of ${PROJECT} match these filters.`).waitFor();
    expect(page.url()).toContain(
      'cronjob=nightly&since=2020-01-01T00%3A00%3A00.000Z&until=2020-01-02T00%3A00%3A00.000Z',
    );
    await expectAccessible(page, 'project executions, nothing matches');
    // The filtered view is a link: opened again, it is the same view.
    const filtered = page.url();
    await page.goto(`${api.url}/console/#/`);
    await page.goto(filtered);
    await page.getByText(`No executions of ${PROJECT} match these filters.`).waitFor();
    expect(await page.getByLabel('From').inputValue()).toBe('2020-01-01T00:00');
    await page.getByRole('link', { name: 'Show all executions' }).click();
    await page.getByRole('row', { name: /failing-manual-/ }).waitFor();

    // A CronJob's own executions take the time filter too.
    await page.goto(
      `${api.url}/console/#/projects/${PROJECT}/cronjobs/nightly/executions?since=2020-01-01T00:00:00.000Z&until=2020-01-02T00:00:00.000Z`,
    );
    await page.getByText('No executions of nightly match these filters.').waitFor();
    await page.getByLabel('Started').selectOption('');
    await page.getByRole('row', { name: /nightly-manual-/ }).waitFor();
    expect(page.url()).toMatch(/\/cronjobs\/nightly\/executions$/);
  });

  test('the CronJobs list asks the API once per refresh, whatever the number of CronJobs', async () => {
    const seen = rec.requests.length;
    await page.goto(`${api.url}/console/#/projects/${PROJECT}/cronjobs`);
    await page
      .getByRole('row', { name: /nightly/ })
      .locator('.last-run')
      .waitFor();
    const projectCalls = () =>
      rec.requests
        .slice(seen)
        .map((r) => new URL(r.url))
        .filter((u) => u.pathname.startsWith(`/api/v1/projects/${PROJECT}/`))
        .map((u) => `${u.pathname.replace(`/api/v1/projects/${PROJECT}`, '')}${u.search}`);
    expect(projectCalls()).toEqual(['/cronjobs?runs=10']);
    // The page reads the list again every 15 s: one request each time.
    await waitFor('a refresh', 25_000, async () => projectCalls().length >= 2);
    expect(projectCalls()).toEqual(['/cronjobs?runs=10', '/cronjobs?runs=10']);
  });

  test("a retried run's attempts: the count and its retries", async () => {
    // Failing on the fake nodes with backoffLimit 2: three pods, 10 s and 20 s apart.
    const retried = cronJob(
      OTHER_PROJECT,
      'retried',
      { schedule: '0 0 1 1 *', suspend: true, backoffLimit: 2 },
      { 'hks.dev/exit-code': '5' },
    );
    expect((await apiRequest(OTHER_PROJECT, 'POST', '/applications', retried)).status).toBe(201);
    expect((await apiRequest(OTHER_PROJECT, 'POST', '/cronjobs/retried/trigger')).status).toBe(201);
    await page.goto(`${api.url}/console/#/projects/${OTHER_PROJECT}/cronjobs/retried/executions`);
    const row = page.getByRole('row', { name: /Failed/ });
    await row.waitFor({ timeout: 90_000 });
    expect(await row.locator('td[data-label="Attempts"]').textContent()).toBe('3 (2 retries)');
  });

  test('the page logged no error, loaded nothing from elsewhere, sent the token only as Authorization', () => {
    expect(rec.errors).toEqual([]);
    const origin = new URL(api.url).origin;
    const elsewhere = rec.requests.filter(
      (r) => !r.url.startsWith(`${origin}/`) && !r.url.startsWith('blob:'),
    );
    expect(elsewhere).toEqual([]);
    expect(rec.requests.filter((r) => r.url.includes(userToken))).toEqual([]);
    const apiCalls = rec.requests.filter((r) => r.url.startsWith(`${origin}/api/v1/`));
    expect(apiCalls.length).toBeGreaterThan(5);
    for (const call of apiCalls) expect(call.authorization).toMatch(/^Bearer \S+$/);
    // The console's own files are fetched without it.
    const files = rec.requests.filter((r) => r.url.startsWith(`${origin}/console/`));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(file.authorization).toBeUndefined();
  });

  describeOnRealNode('a running Job on the real node', () => {
    const TICKS = 60;
    const ticker = {
      apiVersion: API_VERSION,
      kind: 'CronJob',
      metadata: { name: 'ticker', project: REAL_PROJECT },
      spec: {
        image: 'docker.io/library/busybox:1.36',
        command: [
          'sh',
          '-c',
          `i=0; while [ $i -lt ${TICKS} ]; do i=$((i+1)); echo "tick $i of ${TICKS}: the quick brown fox jumps over the lazy dog"; sleep 0.2; done`,
        ],
        schedule: '0 0 1 1 *',
        suspend: true,
        backoffLimit: 0,
        resources: { cpu: '10m', memory: '32Mi' },
      },
    };

    test('its log is followed while it runs, the follow stops when the page leaves, the cut log shows the marker', async () => {
      await expectRealNodeReady();
      expect((await apiRequest(REAL_PROJECT, 'POST', '/applications', ticker)).status).toBe(201);
      const namespace = `${prefix}${REAL_PROJECT}`;
      await placeOnRealNode(namespace);
      // busybox's image names no user and a definition cannot set one, while the pods must run
      // as non-root (Pod Security restricted): the run's user is set on the CronJob here.
      await kubectlOk([
        'patch',
        'cronjob',
        'ticker',
        '-n',
        namespace,
        '--type=json',
        '-p',
        JSON.stringify(
          ['runAsUser', 'runAsGroup'].map((field) => ({
            op: 'add',
            path: `/spec/jobTemplate/spec/template/spec/securityContext/${field}`,
            value: 65534,
          })),
        ),
      ]);
      const triggered = await apiRequest(REAL_PROJECT, 'POST', '/cronjobs/ticker/trigger');
      expect(triggered.status).toBe(201);
      const id = String(triggered.json.id);
      const execution = async () =>
        (await apiRequest(REAL_PROJECT, 'GET', `/cronjobs/ticker/executions/${id}`)).json;
      await waitFor(
        'the run recorded',
        60_000,
        async () => (await execution()).status !== undefined,
      );
      expect((await execution()).status).toBe('running');
      // Opened once the container runs: before, the API answers the follow with a 422 problem.
      await waitFor('the container running', 60_000, async () => {
        const pods = await kubectlJson<{
          items: { status: { containerStatuses?: { state?: { running?: object } }[] } }[];
        }>(['get', 'pods', '-n', namespace, '-l', `batch.kubernetes.io/controller-uid=${id}`]);
        return pods.items.some((p) => p.status.containerStatuses?.[0]?.state?.running);
      });

      await page.goto(
        `${api.url}/console/#/projects/${REAL_PROJECT}/cronjobs/ticker/executions/${id}/logs`,
      );
      await page.getByText('Following the log while the Job runs').waitFor();
      await page
        .locator('pre.log')
        .getByText(/tick 3 of/)
        .waitFor({ timeout: 60_000 });
      const seen = rec.requests.length;
      await screenshot(page, 'logs-follow');
      await page.getByRole('link', { name: 'ticker', exact: true }).click();
      await page.getByRole('heading', { name: 'Executions of ticker' }).waitFor();
      await waitFor('the follow aborted', 10_000, async () =>
        rec.aborted.some((url) => url.includes(`/executions/${id}/logs?follow=true`)),
      );
      expect(rec.requests.length).toBeGreaterThan(seen);

      await waitFor('the run ended and its log captured', 120_000, async () => {
        const e = await execution();
        return e.status === 'succeeded' && e.logCapture === 'captured';
      });
      expect((await execution()).logsTruncated).toBe(true);
      await page.getByRole('link', { name: /^Logs of ticker-manual-/ }).click();
      await page
        .getByRole('note')
        .filter({ hasText: 'The beginning of this log was not kept' })
        .waitFor();
      const marker = page.locator('pre.log .line.truncated');
      await expect(marker.textContent()).resolves.toMatch(
        /^\[hks: log truncated at the size limit; the first \d+ bytes are not kept\]/,
      );
      await expect(page.locator('pre.log').textContent()).resolves.toContain(
        `tick ${TICKS} of ${TICKS}`,
      );
      await expectAccessible(page, 'truncated logs');
      await screenshot(page, 'logs-truncated');
      expect(rec.errors).toEqual([]);
    });
  });
});
