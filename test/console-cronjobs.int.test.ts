import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { API_VERSION } from '../constructs';
import { ApiProcess, projectRequest, startApi, token } from './api/api-process';
import { kubectl, kubectlJson, kubectlOk } from './cluster/kubectl';
import {
  ConsoleBrowser,
  PageRecord,
  describeWithBrowser,
  expectAccessible,
  launchConsoleBrowser,
  screenshot,
  signIn,
} from './console/browser';

jest.setTimeout(300_000);

/*
 * The console's CronJob form, schedule builder and CronJob page in Debian's Chromium against a
 * real API process on the test cluster: a CronJob created from a StatelessApplication through
 * the form (a preset, then raw edits), the API's dry-run error for a 6-field schedule beside
 * the field, the next runs across New York's DST changes with the gap and the repeated hour
 * marked, then on its page Run now, Suspend (checked on the CronJob object), a schedule
 * change, an edit saved with If-Match, and Delete with the history. axe-core on each page at
 * 1280 px and 390 px; nothing logged but the API's refusals the test provokes.
 */

const PROJECT = 'cjform';
/** The builder previews from this instant (the form's `?from=`): New York's 2027 DST changes. */
const FROM = '2027-03-01T00:00:00Z';
/** 01:30 and 02:30 on the 7th and 14th of March and November: 14 March 02:30 does not exist in
 * New York (clocks go forward at 02:00), 7 November 01:30 happens twice (back at 02:00). */
const DST_SCHEDULE = '30 1,2 7,14 3,11 *';

/** The page's focused element, as the test reads it (the project's TypeScript has no DOM). */
interface FocusGlobals {
  readonly document: {
    readonly activeElement: { id: string; className: string; textContent: string | null } | null;
  };
}

/** What the console sent that the test checks: method and If-Match of the API calls. */
interface SentRequest {
  readonly method: string;
  readonly url: string;
  readonly ifMatch?: string;
}

describeWithBrowser('test/console-cronjobs.int.test.ts')('the CronJob form and page', () => {
  const prefix = `c${randomBytes(2).toString('hex')}-`;
  const namespace = `${prefix}${PROJECT}`;
  let api: ApiProcess;
  let userToken: string;
  let browser: ConsoleBrowser;
  let page: Page;
  let rec: PageRecord;
  const sent: SentRequest[] = [];

  const apiRequest = (method: string, path: string, body?: unknown) =>
    projectRequest(
      api,
      PROJECT,
      { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' },
      method,
      path,
      body,
    );
  const cronJobObject = () =>
    kubectlJson<{ spec: { schedule: string; timeZone?: string; suspend?: boolean } }>([
      'get',
      'cronjob',
      'report',
      '-n',
      namespace,
    ]);
  /** Chromium logs every refused request itself: these, and no other error, are expected. */
  const expectOnlyRefusals = async (status: number) => {
    expect(rec.refused.length).toBeGreaterThan(0);
    // Chromium's log line of a refusal can come after the page has shown it: wait for one per
    // refused response (a schedule preview's included) before they are cleared.
    for (const end = Date.now() + 5_000; rec.errors.length < rec.refused.length;) {
      if (Date.now() > end) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(rec.errors.length).toBe(rec.refused.length);
    for (const error of rec.errors) expect(error).toContain(`status of ${status}`);
    for (const refusal of rec.refused) expect(refusal).toMatch(new RegExp(`^${status} `));
    rec.errors.length = 0;
    rec.refused.length = 0;
  };
  const focused = () =>
    page.evaluate(() => {
      const element = (globalThis as unknown as FocusGlobals).document.activeElement;
      return { id: element?.id, className: element?.className, text: element?.textContent?.trim() };
    });
  /** axe-core at 390 px too, and a picture of it when `picture` names one. */
  const atPhoneWidth = async (what: string, picture?: string) => {
    await page.setViewportSize({ width: 390, height: 844 });
    await expectAccessible(page, `${what} at phone width`);
    if (picture) await screenshot(page, picture);
    await page.setViewportSize({ width: 1280, height: 800 });
  };

  beforeAll(async () => {
    api = await startApi({ HKS_NAMESPACE_PREFIX: prefix });
    userToken = await token([PROJECT], undefined, '30m');
    const web = {
      apiVersion: API_VERSION,
      kind: 'StatelessApplication',
      metadata: { name: 'web', project: PROJECT },
      spec: { image: 'ghcr.io/acme/web:1', port: 8080, env: { MODE: 'server' } },
    };
    expect((await apiRequest('POST', '/applications', web)).status).toBe(201);
    browser = await launchConsoleBrowser();
    ({ page, rec } = browser);
    // A step that fails says so soon, not after 30 s.
    page.setDefaultTimeout(15_000);
    page.on('request', (r) => {
      if (r.url().startsWith(`${api.url}/api/v1/`))
        sent.push({ method: r.method(), url: r.url(), ifMatch: r.headers()['if-match'] });
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await kubectlOk(['delete', 'namespace', namespace, '--wait=false', '--ignore-not-found']);
  });

  test('the CronJobs list offers New CronJob; the form starts from the project and the browser', async () => {
    await signIn(page, api.url, userToken);
    await page.goto(`${api.url}/console/#/projects/${PROJECT}/cronjobs`);
    await page.getByText(`No CronJobs in project ${PROJECT} yet.`).waitFor();
    await page.getByRole('link', { name: 'New CronJob' }).click();
    await page.getByRole('heading', { name: 'New CronJob' }).waitFor();
    // The preview's instant comes from the address, so that its runs do not depend on today.
    await page.goto(`${api.url}/console/#/projects/${PROJECT}/create/cronjob?from=${FROM}`);
    await page.getByRole('heading', { name: 'New CronJob' }).waitFor();
    const application = page.getByLabel('Application', { exact: true });
    await application.waitFor();
    expect(await application.inputValue()).toBe('web');
    // The browser's zone (the test's Chromium runs in UTC).
    expect(await page.getByLabel('Time zone').inputValue()).toBe('UTC');
  });

  test('a preset writes the expression, a raw edit picks the preset it matches', async () => {
    await page.getByRole('textbox', { name: 'Name', exact: true }).fill('report');
    await page.getByLabel('Repeat').selectOption({ label: 'Weekdays at' });
    await page.getByLabel('At', { exact: true }).fill('07:30');
    const cron = page.getByLabel('Cron expression');
    expect(await cron.inputValue()).toBe('30 7 * * 1-5');
    await page.getByText('At 07:30, Monday through Friday').waitFor();
    await cron.fill('15 7 * * 1-5');
    expect(await page.getByLabel('Repeat').inputValue()).toBe('weekdays');
    expect(await page.getByLabel('At', { exact: true }).inputValue()).toBe('07:15');
    await cron.fill('15 7 * * 1-4');
    expect(await page.getByLabel('Repeat').inputValue()).toBe('custom');
    await page.getByText('At 07:15, Monday through Thursday').waitFor();
  });

  test("a 6-field schedule: the API's dry-run error beside the schedule field, nothing applied", async () => {
    const cron = page.getByLabel('Cron expression');
    await cron.fill('0 30 7 * * 1-5');
    await page.getByRole('button', { name: 'Create' }).click();
    const summary = page.getByRole('alert').filter({ hasText: 'spec.schedule' });
    await summary.waitFor();
    await expect(summary.textContent()).resolves.toContain('Invalid definition');
    const error = page.locator('#cj-schedule-schedule-error');
    await expect(error.textContent()).resolves.toContain(
      'given "0 30 7 * * 1-5" (6 fields; Kubernetes has no seconds field)',
    );
    expect(await cron.getAttribute('aria-invalid')).toBe('true');
    expect((await cron.getAttribute('aria-describedby'))?.split(' ')).toContain(
      'cj-schedule-schedule-error',
    );
    // The focus goes to the summary, whose link leads to the field.
    expect((await focused()).className).toContain('cj-summary');
    await summary.getByRole('link', { name: /spec\.schedule/ }).click();
    expect((await focused()).id).toBe('cj-schedule-schedule');
    // Checked with ?dryRun=true only: nothing was created.
    const writes = sent.filter((r) => r.method === 'POST' && r.url.includes('/applications'));
    expect(writes.map((r) => new URL(r.url).search)).toEqual(['?dryRun=true']);
    expect((await apiRequest('GET', '/applications/report')).status).toBe(404);
    await expectAccessible(page, 'CronJob form with an error');
    await expectOnlyRefusals(400);
  });

  test('the next runs in America/New_York across both DST changes, the gap and the repeated hour marked', async () => {
    await page.getByLabel('Cron expression').fill(DST_SCHEDULE);
    await page.getByLabel('Time zone').fill('America/New_York');
    // The API's error is gone with the value it was about.
    expect(await page.getByLabel('Cron expression').getAttribute('aria-invalid')).toBe('false');
    const preview = page.getByRole('region', {
      name: `Next 5 runs after ${FROM}, in America/New_York`,
    });
    const gap = preview.getByRole('listitem').filter({ hasText: 'DST gap' });
    await gap.waitFor();
    await expect(gap.textContent()).resolves.toContain('Sun 2027-03-14 02:30');
    const repeated = preview.getByRole('listitem').filter({ hasText: 'Repeated hour' });
    await repeated.first().waitFor();
    await expect(repeated.first().textContent()).resolves.toContain('Sun 2027-11-07 01:30');
    const items = await preview.getByRole('listitem').allTextContents();
    expect(items[0]).toContain('Sun 2027-03-07 01:30 UTC-05:00');
    expect(items.filter((t) => !t.includes('DST gap'))).toHaveLength(5);
    // The preview was asked with the address's instant, and once typing paused.
    const previews = sent.filter((r) => r.url.includes('/schedules/next?'));
    const last = new URL(previews[previews.length - 1].url).searchParams;
    expect(Object.fromEntries(last)).toEqual({
      schedule: DST_SCHEDULE,
      timeZone: 'America/New_York',
      count: '5',
      from: FROM,
    });
    await expectAccessible(page, 'schedule builder');
    await screenshot(page, 'schedule-builder');
  });

  test('create from the template with env and job settings: saved, applied, shown on its page', async () => {
    await page.getByLabel('Cron expression').fill('45 7 * * 1-5');
    expect(await page.getByLabel('Repeat').inputValue()).toBe('weekdays');
    await page.getByRole('button', { name: 'Add a variable' }).click();
    await page.getByLabel('Name of variable 1').fill('GREETING');
    await page.getByLabel('Value of variable 1').fill('hello');
    await page.getByLabel('When a run is still going').selectOption('Allow');
    await page.getByLabel('Retries (backoff limit)').fill('2');
    await page.getByLabel('Arguments').fill('--since\n24h');
    await expectAccessible(page, 'CronJob form');
    await screenshot(page, 'cronjob-form');
    await atPhoneWidth('CronJob form');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'report', exact: true }).waitFor();
    const stored = await apiRequest('GET', '/applications/report');
    expect(stored.status).toBe(200);
    expect((stored.json.definition as { spec: unknown }).spec).toEqual({
      template: 'web',
      args: ['--since', '24h'],
      env: { GREETING: 'hello' },
      schedule: '45 7 * * 1-5',
      timeZone: 'America/New_York',
      concurrencyPolicy: 'Allow',
      backoffLimit: 2,
    });
    const object = await cronJobObject();
    expect(object.spec).toMatchObject({ schedule: '45 7 * * 1-5', timeZone: 'America/New_York' });
    const facts = (await page.locator('.cj-facts').textContent()) ?? '';
    expect(facts).toContain('45 7 * * 1-5');
    expect(facts).toContain('At 07:45, Monday through Friday');
    expect(facts).toContain('America/New_York');
    expect(facts).toContain('from application web');
    await page.locator('.title-row .badge', { hasText: 'Active' }).waitFor();
    const next = page.getByRole('region', { name: 'Next runs' }).getByRole('listitem');
    expect(await next.count()).toBe(5);
    await expect(next.first().textContent()).resolves.toMatch(/07:45:00 (EST|EDT|GMT-5|GMT-4)/);
  });

  test('Run now from the page: the run appears in the strip, linked to its executions', async () => {
    await page.getByRole('button', { name: 'Run now: report' }).click();
    await page.getByRole('status').filter({ hasText: 'Started Job report-manual-' }).waitFor();
    // The page refreshes every 5 s.
    await page.getByRole('list', { name: 'Last 1 run, oldest first' }).waitFor({ timeout: 60_000 });
    expect(
      await page.getByRole('link', { name: 'All executions of report' }).getAttribute('href'),
    ).toBe(`#/projects/${PROJECT}/cronjobs/report/executions`);
    await expectAccessible(page, 'CronJob page');
    await screenshot(page, 'cronjob');
    await atPhoneWidth('CronJob page', 'cronjob-phone');
  });

  test('Suspend: the page and the list say so, the CronJob object has spec.suspend true; Resume', async () => {
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('status').filter({ hasText: 'report is suspended' }).waitFor();
    await page.locator('.title-row .badge', { hasText: 'Suspended' }).waitFor();
    await page.getByText('None while suspended.').waitFor();
    expect((await cronJobObject()).spec.suspend).toBe(true);
    await page.getByRole('link', { name: 'CronJobs', exact: true }).first().click();
    const row = page.getByRole('row', { name: /report/ });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain('Suspended');
    await row.getByRole('link', { name: 'report' }).click();
    await page.getByRole('heading', { name: 'report', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.title-row .badge', { hasText: 'Active' }).waitFor();
    expect((await cronJobObject()).spec.suspend).toBe(false);
  });

  test('Change schedule in place: a bad zone refused beside its field, then a preset saved', async () => {
    await page.getByRole('button', { name: 'Change schedule' }).click();
    const form = page.getByRole('form', { name: 'Change the schedule' });
    await form.waitFor();
    expect(await form.getByLabel('Cron expression').inputValue()).toBe('45 7 * * 1-5');
    const zone = form.getByLabel('Time zone');
    await zone.fill('Mars/Olympus_Mons');
    await form.getByRole('button', { name: 'Save the schedule' }).click();
    const zoneError = form.locator('#cj-change-builder-time-zone-error');
    await expect(zoneError.textContent()).resolves.toContain('given "Mars/Olympus_Mons"');
    expect(await zone.getAttribute('aria-invalid')).toBe('true');
    expect(await zone.getAttribute('aria-describedby')).toContain(
      'cj-change-builder-time-zone-error',
    );
    await expectOnlyRefusals(400);
    await zone.fill('Europe/Berlin');
    await form.getByLabel('Repeat').selectOption({ label: 'Daily at' });
    await form.getByLabel('At', { exact: true }).fill('06:15');
    await form.getByRole('button', { name: 'Save the schedule' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'The schedule of report is now 15 6 * * * in Europe/Berlin' })
      .waitFor();
    await page.locator('.cj-facts').getByText('15 6 * * *').waitFor();
    expect((await cronJobObject()).spec).toMatchObject({
      schedule: '15 6 * * *',
      timeZone: 'Europe/Berlin',
    });
  });

  test('Edit: the form holds the stored values and saves with If-Match', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit report' }).waitFor();
    expect(await page.getByLabel('Retries (backoff limit)').inputValue()).toBe('2');
    expect(await page.getByLabel('Value of variable 1').inputValue()).toBe('hello');
    expect(await page.getByLabel('Cron expression').inputValue()).toBe('15 6 * * *');
    expect(await page.getByLabel('Repeat').inputValue()).toBe('daily');
    await page.getByLabel('Retries (backoff limit)').fill('3');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'report', exact: true }).waitFor();
    const put = sent.filter((r) => r.method === 'PUT' && !r.url.includes('dryRun'));
    expect(put).toHaveLength(1);
    expect(put[0].ifMatch).toMatch(/^"?.+"?$/);
    const stored = await apiRequest('GET', '/applications/report');
    // Created, suspended, resumed, rescheduled, edited.
    expect(stored.json.version).toBe(5);
    expect((stored.json.definition as { spec: { backoffLimit: number } }).spec.backoffLimit).toBe(
      3,
    );
  });

  test('Delete asks in a dialog (Escape cancels); with the history, both are gone', async () => {
    const opener = page.getByRole('button', { name: 'Delete' });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: 'Delete CronJob report?' });
    await dialog.waitFor();
    expect((await focused()).text).toBe('Cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await focused()).text).toBe('Delete');
    await opener.click();
    await dialog.waitFor();
    await expectAccessible(page, 'delete dialog');
    await dialog.getByLabel(/Also delete the execution history/).check();
    expect((await apiRequest('GET', '/cronjobs/report/executions')).status).toBe(200);
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'CronJobs' }).waitFor();
    await page.getByText(`No CronJobs in project ${PROJECT} yet.`).waitFor();
    expect((await apiRequest('GET', '/cronjobs/report/executions')).status).toBe(404);
    const gone = await kubectl(['get', 'cronjob', 'report', '-n', namespace]);
    expect(gone.stderr).toContain('NotFound');
    expect(sent.some((r) => r.method === 'DELETE' && r.url.endsWith('?purgeHistory=true'))).toBe(
      true,
    );
  });

  test('the pages logged no error, loaded nothing from elsewhere, sent the token only as Authorization', async () => {
    expect({ errors: rec.errors, refused: rec.refused }).toEqual({ errors: [], refused: [] });
    const origin = new URL(api.url).origin;
    const elsewhere = rec.requests.filter(
      (r) => !r.url.startsWith(`${origin}/`) && !r.url.startsWith('blob:'),
    );
    expect(elsewhere).toEqual([]);
    expect(rec.requests.filter((r) => r.url.includes(userToken))).toEqual([]);
    const apiCalls = rec.requests.filter((r) => r.url.startsWith(`${origin}/api/v1/`));
    expect(apiCalls.length).toBeGreaterThan(10);
    for (const call of apiCalls) expect(call.authorization).toMatch(/^Bearer \S+$/);
    const files = rec.requests.filter((r) => r.url.startsWith(`${origin}/console/`));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(file.authorization).toBeUndefined();
  });
});
