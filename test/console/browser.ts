import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/*
 * The console tests' browser: Debian's Chromium driven by playwright-core, what each page did
 * (errors, requests, aborted fetches), axe-core checks and screenshots (into docs/ with
 * HKS_CONSOLE_SCREENSHOTS=docs, else a temporary folder, so a test run leaves the committed
 * pictures alone).
 */

/** Debian's Chromium: browser downloads are not possible here. */
export const CHROMIUM = '/usr/bin/chromium';
export const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOTS =
  process.env.HKS_CONSOLE_SCREENSHOTS === 'docs'
    ? join(__dirname, '..', '..', 'docs')
    : join(tmpdir(), 'hks-console-screenshots');
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const haveChromium = existsSync(CHROMIUM);
/**
 * `describe` where Chromium is installed or in CI (where its absence fails the run: see
 * {@link launchConsoleBrowser}), else `describe.skip` with a warning naming the file.
 */
export function describeWithBrowser(file: string): jest.Describe {
  if (!haveChromium && !process.env.CI) {
    console.warn(
      `${file} skipped: ${CHROMIUM} is missing (apt-get install -y chromium). In CI (CI=true) a missing Chromium fails the run.`,
    );
  }
  return haveChromium || process.env.CI ? describe : describe.skip;
}

/** The page's globals the test reads (the project's TypeScript has no DOM library). */
export interface PageGlobals {
  readonly document: unknown;
  readonly sessionStorage: { readonly length: number; getItem(key: string): string | null };
  readonly localStorage: { readonly length: number };
}

/** What the page did that the test checks at the end. */
export interface PageRecord {
  readonly errors: string[];
  readonly requests: { url: string; authorization?: string; idempotencyKey?: string }[];
  readonly aborted: string[];
  /** Responses with a status of 400 or more, as `<status> <method> <url>`. */
  readonly refused: string[];
}

export function record(page: Page): PageRecord {
  const rec: PageRecord = { errors: [], requests: [], aborted: [], refused: [] };
  page.on('response', (r) => {
    if (r.status() >= 400) rec.refused.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') rec.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => rec.errors.push(`page error: ${e.message}`));
  page.on('request', (r) =>
    rec.requests.push({
      url: r.url(),
      authorization: r.headers().authorization,
      idempotencyKey: r.headers()['idempotency-key'],
    }),
  );
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText === 'net::ERR_ABORTED') rec.aborted.push(r.url());
    else rec.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return rec;
}

/** axe-core, injected through the DevTools protocol (the page's CSP allows no inline script). */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (
            c: unknown,
            o: unknown,
          ) => Promise<{
            violations: {
              id: string;
              impact: string;
              help: string;
              nodes: { target: unknown }[];
            }[];
          }>;
        };
      }
    ).axe;
    const result = await axe.run((globalThis as unknown as PageGlobals).document, {
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect({ page: what, serious }).toEqual({ page: what, serious: [] });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `console-${name}.png`), fullPage: true });
}

/** A browser of its own (a fresh profile), its first page, and what that page does. */
export interface ConsoleBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly rec: PageRecord;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/**
 * Starts Chromium headless at 1280×800, British English, UTC, downloads accepted.
 * @throws Error when Chromium is missing (in CI: see {@link describeWithBrowser})
 */
export async function launchConsoleBrowser(): Promise<ConsoleBrowser> {
  if (!haveChromium)
    throw new Error(`CI=true and ${CHROMIUM} is missing: apt-get install -y chromium`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'hks-console-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: LAUNCH_ARGS,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'UTC',
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    rec: record(page),
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Opens the console and signs in with `token` (the sign-in page's own form). */
export async function signIn(page: Page, apiUrl: string, token: string): Promise<void> {
  await page.goto(`${apiUrl}/console`);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: /Projects|CronJobs/ }).waitFor();
}
