import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { API_VERSION } from '../../constructs';

/** A valid StatelessApplication document, with overrides. */
export function statelessDoc(name = 'api', spec: Record<string, unknown> = {}, project = 'shop') {
  return {
    apiVersion: API_VERSION,
    kind: 'StatelessApplication',
    metadata: { name, project },
    spec: { image: 'ghcr.io/acme/api:1.0.0', ...spec },
  };
}

/** A valid CronJob document with its own image, with overrides. */
export function cronJobDoc(name = 'job', spec: Record<string, unknown> = {}, project = 'shop') {
  return {
    apiVersion: API_VERSION,
    kind: 'CronJob',
    metadata: { name, project },
    spec: { image: 'ghcr.io/acme/job:1.0.0', schedule: '0 3 * * *', ...spec },
  };
}

/** Writes documents as one multi-document YAML file in a fresh folder; returns the folder. */
export function writeAppsDir(files: Record<string, readonly unknown[] | string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'hks-apps-'));
  for (const [name, docs] of Object.entries(files)) {
    const text = typeof docs === 'string' ? docs : docs.map((d) => stringify(d)).join('---\n');
    writeFileSync(join(dir, name), text);
  }
  return dir;
}
