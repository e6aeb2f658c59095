import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join, relative } from 'node:path';
import express from 'express';
import {
  CONSOLE_DIR,
  CONSOLE_VENDOR_FILES,
  consolePolicy,
  consoleRouter,
  inlineScriptHashes,
} from '../api/routes/console';

/*
 * /console as the API serves it (api/routes/console.ts), without a cluster: the page, its CSP,
 * the import map's files, and every import of the console's modules resolving to a file the
 * API serves, so that nothing the page needs comes from another origin or is missing.
 */

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  app.use('/console', consoleRouter());
  app.use((_req, res) => res.status(404).send('no route'));
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const html = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
const importMap = JSON.parse(
  /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '{}',
) as { imports: Record<string, string> };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

test('/console redirects to /console/, which is the page with its security headers', async () => {
  const redirect = await fetch(`${base}/console?x=1`, { redirect: 'manual' });
  expect(redirect.status).toBe(301);
  expect(redirect.headers.get('location')).toBe('/console/');
  const res = await fetch(`${base}/console/`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await res.text()).toBe(html);
  const policy = res.headers.get('content-security-policy');
  expect(policy).toBe(consolePolicy(html));
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
});

test('the CSP allows exactly the inline import map, by its hash, and nothing from elsewhere', () => {
  const inline = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const hash = `'sha256-${createHash('sha256').update(inline).digest('base64')}'`;
  expect(inlineScriptHashes(html)).toEqual([hash]);
  const policy = consolePolicy(html);
  expect(policy.split('; ')).toEqual([
    "default-src 'self'",
    `script-src 'self' ${hash}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ]);
  // A page with a second inline script gets its hash too, a script with src none.
  expect(inlineScriptHashes('<script>a()</script><script src="x.js"></script>')).toHaveLength(1);
});

test('every file of the import map and of the page is served, as JavaScript or CSS', async () => {
  const targets = [
    ...Object.values(importMap.imports),
    ...[...html.matchAll(/(?:src|href)="(\.[^"]+)"/g)].map((m) => m[1]),
  ];
  expect(targets.length).toBeGreaterThan(6);
  for (const target of targets) {
    const res = await fetch(new URL(target, `${base}/console/`));
    expect({ target, status: res.status }).toEqual({ target, status: 200 });
    expect(res.headers.get('content-type')).toMatch(
      target.endsWith('.css') ? /^text\/css/ : /^text\/javascript/,
    );
  }
  for (const name of Object.keys(CONSOLE_VENDOR_FILES)) {
    expect((await fetch(`${base}/console/vendor/${name}`)).status).toBe(200);
  }
});

test("every import of the console's modules is a file it serves or a name of the import map", async () => {
  const modules = files(join(CONSOLE_DIR, 'app')).filter((f) => f.endsWith('.js'));
  expect(modules.length).toBeGreaterThan(8);
  let checked = 0;
  for (const file of modules) {
    const source = readFileSync(file, 'utf8');
    const specifiers = [
      ...source.matchAll(/^\s*(?:import|export)\s(?:[^'";]*?\sfrom\s)?['"]([^'"]+)['"]/gm),
    ].map((m) => m[1]);
    const url = `${base}/console/${relative(CONSOLE_DIR, file)}`;
    for (const specifier of specifiers) {
      if (!specifier.startsWith('.')) {
        expect({ file, specifier, mapped: specifier in importMap.imports }).toEqual({
          file,
          specifier,
          mapped: true,
        });
        continue;
      }
      const res = await fetch(new URL(specifier, url));
      expect({ file, specifier, status: res.status }).toEqual({ file, specifier, status: 200 });
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(20);
});

test('nothing is loaded from another origin, and the token is never written but to sessionStorage', () => {
  for (const file of files(CONSOLE_DIR)) {
    const source = readFileSync(file, 'utf8');
    expect({
      file,
      external: source.match(/(?:src|href|url\()\s*=?\s*["']?(?:https?:)?\/\//g),
    }).toEqual({
      file,
      external: null,
    });
    expect({ file, localStorage: source.includes('localStorage') }).toEqual({
      file,
      localStorage: false,
    });
    expect({ file, innerHTML: /innerHTML|dangerouslySetInnerHTML/.test(source) }).toEqual({
      file,
      innerHTML: false,
    });
  }
});

test('unknown files and paths out of the folder are not served', async () => {
  for (const path of [
    '/console/vendor/nope.js',
    '/console/vendor/../../package.json',
    '/console/%2e%2e/package.json',
    '/console/.hidden',
  ]) {
    const res = await fetch(`${base}${path}`);
    expect({ path, status: res.status }).toEqual({ path, status: 404 });
  }
});
