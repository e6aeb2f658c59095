import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { ApiProcess, projectRequest, startApi, testStores, token } from './api/api-process';
import { kubectlOk } from './cluster/kubectl';
import { waitFor } from './cluster/wait';
import {
  ConsoleBrowser,
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
 * A function's page in Debian's Chromium shows its schedules and its invocation history,
 * against a real API process on the test cluster with the Knative stand-in running the real
 * Python bootstrap: a function with a suspended schedule, invoked through the API twice (one
 * call succeeds, one raises), then the page lists both calls newest first, filters the failed
 * one, and opens its details (the exception and what the code printed) — read from the API's
 * invocation history, not from the page's own calls; an asynchronous invocation queued with
 * `Prefer: respond-async` shows with its state, attempts and stored answer; the usage panel
 * counts the three calls and their requested CPU × run time. Checked with axe-core.
 */

const PROJECT = 'webinvocations';
const NAME = 'tally';
const CODE = [
  'def handler(event):',
  '    print("tallying", event.get("n"))',
  '    if event.get("fail"):',
  '        raise ValueError("no tally for " + str(event.get("n")))',
  '    return {"n": event.get("n")}',
  '',
].join('\n');

describeWithBrowser('test/console-invocations.int.test.ts')(
  "a function's schedules and invocations in Chromium",
  () => {
    const prefix = `wi${randomBytes(2).toString('hex')}-`;
    let standIn: StandInProcess;
    let api: ApiProcess;
    let headers: Record<string, string>;
    let userToken: string;
    let browser: ConsoleBrowser;
    let page: Page;
    let rec: PageRecord;
    let asyncId: string;

    beforeAll(async () => {
      standIn = await startStandIn(prefix);
      api = await startApi({
        ...(await testStores()[0].env()),
        HKS_NAMESPACE_PREFIX: prefix,
        HKS_RECORDER: 'off',
      });
      userToken = await token([PROJECT], undefined, '30m');
      headers = { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' };
      const applied = await projectRequest(api, PROJECT, headers, 'POST', '/applications', {
        apiVersion: 'hks.hexabase.io/v1',
        kind: 'Function',
        metadata: { name: NAME, project: PROJECT },
        spec: {
          runtime: 'python3.12',
          code: CODE,
          schedules: [
            { name: 'nightly', cron: '0 3 * * *', timeZone: 'Asia/Tokyo', suspend: true },
          ],
        },
      });
      expect(applied.status).toBe(201);
      await waitFor('the function ready', 60_000, async () => {
        const fn = await projectRequest(api, PROJECT, headers, 'GET', `/functions/${NAME}`);
        return fn.json.ready === true;
      });
      const ok = await projectRequest(api, PROJECT, headers, 'POST', `/functions/${NAME}/invoke`, {
        n: 1,
      });
      expect(ok.status).toBe(200);
      const failed = await projectRequest(
        api,
        PROJECT,
        headers,
        'POST',
        `/functions/${NAME}/invoke`,
        { n: 2, fail: true },
      );
      expect(failed.status).toBeGreaterThanOrEqual(500);
      const queued = await fetch(`${api.url}/api/v1/projects/${PROJECT}/functions/${NAME}/invoke`, {
        method: 'POST',
        headers: { ...headers, prefer: 'respond-async' },
        body: JSON.stringify({ n: 3 }),
      });
      expect(queued.status).toBe(202);
      asyncId = ((await queued.json()) as { id: string }).id;
      await waitFor('the asynchronous invocation done', 60_000, async () => {
        const one = await projectRequest(
          api,
          PROJECT,
          headers,
          'GET',
          `/functions/${NAME}/async-invocations/${asyncId}`,
        );
        return one.json.state === 'succeeded';
      });
      browser = await launchConsoleBrowser();
      ({ page, rec } = browser);
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await api?.stop();
      await standIn?.stop();
      await kubectlOk([
        'delete',
        'namespace',
        `${prefix}${PROJECT}`,
        '--wait=false',
        '--ignore-not-found',
      ]);
    });

    const rows = () => page.locator('table.invocations > tbody > tr:not(.invocation-details-row)');

    test('the schedule with its cron, zone and state; the three invocations newest first', async () => {
      await signIn(page, api.url, userToken);
      await page.goto(`${api.url}/console/#/projects/${PROJECT}/functions/${NAME}`);
      await page.getByRole('heading', { name: NAME, level: 1 }).waitFor();
      const schedule = page
        .locator('table.function-schedules')
        .getByRole('row', { name: /nightly/ });
      await schedule.waitFor();
      expect(await schedule.innerText()).toMatch(
        /0 3 \* \* \*\s+Asia\/Tokyo[\s\S]*Suspended[\s\S]*None yet/,
      );
      await rows().nth(2).waitFor();
      expect(await rows().count()).toBe(3);
      const texts = await rows().allInnerTexts();
      expect(texts[0]).toMatch(/Asynchronous[\s\S]*Succeeded[\s\S]*200/);
      expect(texts[1]).toMatch(/Invoke \(HTTP\)[\s\S]*Failed[\s\S]*500/);
      expect(texts[2]).toMatch(/Invoke \(HTTP\)[\s\S]*Succeeded[\s\S]*200/);
      await expectAccessible(page, 'a function with its schedules and invocations');
    });

    test('the status filter keeps the failed call; its details show the exception and output', async () => {
      await page.getByLabel('Status').selectOption('failed');
      await waitFor('one row', 15_000, async () => (await rows().count()) === 1);
      expect(await rows().nth(0).innerText()).toMatch(/Failed/);
      await page.getByRole('button', { name: /details of the invocation/i }).click();
      const details = page.locator('.invocation-details');
      await details.getByText('ValueError', { exact: true }).waitFor();
      const text = await details.innerText();
      expect(text).toContain('no tally for 2');
      expect(text).toContain('tallying 2');
      expect(
        await page
          .getByRole('button', { name: /^hide details of the invocation/i })
          .getAttribute('aria-expanded'),
      ).toBe('true');
      await expectAccessible(page, "a failed invocation's details");
      await page.getByLabel('Trigger').selectOption('timer');
      await page.getByText('No invocations match these filters.').waitFor();
      expect(rec.errors).toEqual([]);
    });

    test('the asynchronous invocation with its state, attempts and stored answer', async () => {
      const row = page.locator('table.async-invocations > tbody > tr').first();
      await row.waitFor();
      expect(await row.innerText()).toMatch(/Succeeded[\s\S]*1 of \d+[\s\S]*HTTP 200/);
      await page
        .getByRole('button', {
          name: new RegExp(`answer of the asynchronous invocation ${asyncId}`, 'i'),
        })
        .click();
      await page.locator('.async-answer-row').getByText('{"n": 3}').waitFor();
      await expectAccessible(page, 'an asynchronous invocation with its answer');
      await page.getByLabel('Status').selectOption('');
      await page.getByLabel('Trigger').selectOption('');
      await rows().nth(2).waitFor();
      await screenshot(page, 'function-invocations');
      expect(rec.errors).toEqual([]);
    });

    test("the function's usage and cost: its three calls, run time and requested CPU, costed", async () => {
      const panel = page.getByRole('region', { name: 'Usage and cost' });
      await panel.locator('[data-usage="count"]').waitFor();
      expect(await panel.locator('[data-usage="count"]').innerText()).toBe('3');
      // No HKS_PRICE_TABLE: usage is measured and costs nothing.
      expect(await panel.locator('[data-usage="cost"]').innerText()).toBe('0.000000 USD');
      const today = new Date().toISOString().slice(0, 10);
      const day = panel.getByRole('row', { name: new RegExp(today) });
      // The default request of 100m: vCPU-seconds are a tenth of the run time.
      const cells = await day.getByRole('cell').allInnerTexts();
      expect(cells[0]).toBe('3');
      const runSeconds = Number(cells[1].replace(' s', ''));
      expect(Number(cells[2])).toBeCloseTo(runSeconds / 10, 2);
      await expectAccessible(page, "a function's usage and cost");
      expect(rec.errors).toEqual([]);
    });
  },
);
