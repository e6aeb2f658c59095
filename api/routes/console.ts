import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express, { RequestHandler, Router } from 'express';
import { packagePath } from '../../constructs/package-dir';
import { labelRoute } from '../metrics';

/** Where the console's own files are: the page, its modules and its style sheet. */
export const CONSOLE_DIR = packagePath('console');

/**
 * The packages' files the console imports, served under `/console/vendor/` by these names and
 * no others (the page's import map names them): nothing comes from another origin.
 */
export const CONSOLE_VENDOR_FILES: Readonly<Record<string, readonly [string, string]>> = {
  'preact.mjs': ['preact', 'dist/preact.mjs'],
  'preact.mjs.map': ['preact', 'dist/preact.mjs.map'],
  'hooks.mjs': ['preact', 'hooks/dist/hooks.mjs'],
  'hooks.mjs.map': ['preact', 'hooks/dist/hooks.mjs.map'],
  'htm.mjs': ['htm', 'dist/htm.mjs'],
  'htm-preact.mjs': ['htm', 'preact/index.mjs'],
  // UMD: imported for its side effect, it sets globalThis.cronstrue.
  'cronstrue.js': ['cronstrue', 'dist/cronstrue.min.js'],
};

/** The folder of an installed package (the one `require` finds), by walking up from its main file. */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  while (dir !== dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === name)
      return dir;
    dir = dirname(dir);
  }
  throw new Error(`Cannot find the folder of package ${name}`);
}

/** The `sha256-...` source of every inline script of a page, for its Content-Security-Policy. */
export function inlineScriptHashes(html: string): string[] {
  return [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)]
    .filter((m) => !/\bsrc\s*=/.test(m[0].slice(0, m[0].indexOf('>'))) && m[1] !== '')
    .map((m) => `'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
}

/**
 * The Content-Security-Policy of the console: its own origin only; the one inline script (the
 * import map) by its hash; no inline styles, frames, plugins or form targets elsewhere.
 */
export function consolePolicy(html: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' ${inlineScriptHashes(html).join(' ')}`.trim(),
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * `/console`: the web console, files served as they are (no build step) from `console/` and
 * the packages of {@link CONSOLE_VENDOR_FILES}; `/console` redirects to `/console/`. The page
 * signs in with a pasted token it keeps in sessionStorage and sends as `Authorization` to
 * `/api/v1`: these files need none and carry no data.
 */
export function consoleRouter(dir = CONSOLE_DIR): Router {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const policy = consolePolicy(html);
  const headers: RequestHandler = (_req, res, next) => {
    res.setHeader('content-security-policy', policy);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    next();
  };
  const router = express.Router();
  router.use(labelRoute('/console'), headers);
  // Mounted at /console, the page's own path is `/`: its relative URLs need the slash.
  router.get('/', (req, res, next) => {
    if (req.originalUrl.split('?')[0].endsWith('/')) next();
    else res.redirect(301, `${req.baseUrl}/`);
  });
  const vendor = Object.entries(CONSOLE_VENDOR_FILES).map(([name, [pkg, file]]) => ({
    name,
    path: join(packageDir(pkg), file),
  }));
  for (const { name, path } of vendor) {
    router.get(`/vendor/${name}`, (_req, res, next) => {
      res.type(name.endsWith('.map') ? 'application/json' : 'text/javascript');
      res.sendFile(path, { headers: { 'cache-control': 'no-cache' } }, (error) => {
        if (error) next(error);
      });
    });
  }
  router.use(
    express.static(dir, {
      index: 'index.html',
      redirect: true,
      dotfiles: 'ignore',
      fallthrough: true,
      setHeaders: (res) => res.setHeader('cache-control', 'no-cache'),
    }),
  );
  return router;
}
