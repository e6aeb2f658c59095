import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { CliError } from './errors';

/** An integer option from `min` to `max` (commander names the flag and the value given). */
export function integerOption(min: number, max: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^\d+$/.test(value) || parsed < min || parsed > max)
      throw new InvalidArgumentError(`Expected an integer from ${min} to ${max}.`);
    return parsed;
  };
}

/** A duration such as `30s`, `5m`, `1h` (as the API's `since`). */
export function durationOption(value: string): string {
  if (!/^\d+[smh]$/.test(value))
    throw new InvalidArgumentError('Expected a number and s, m or h, e.g. 30s, 5m, 1h.');
  return value;
}

/** An http(s) URL. */
export function urlOption(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      'Expected an http:// or https:// URL, e.g. http://localhost:8080.',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError(
      'Expected an http:// or https:// URL, e.g. http://localhost:8080.',
    );
  return value.replace(/\/+$/, '');
}

/**
 * The JSON text of `--data`: JSON as given, or `@file` read from disk (relative to `cwd`).
 * @throws CliError (usage) naming the flag, the value and what is expected
 */
export function readJsonData(data: string | undefined, cwd: string): string {
  if (data === undefined) return 'null';
  let text = data;
  let what = `given ${JSON.stringify(shorten(data))}`;
  if (data.startsWith('@')) {
    const file = resolve(cwd, data.slice(1));
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw CliError.usage(
        `--data: given ${JSON.stringify(data)} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}: ${file}), expected JSON or @file naming a readable JSON file`,
      );
    }
    what = `given ${data} (${file})`;
  }
  try {
    JSON.parse(text);
  } catch (error) {
    throw CliError.usage(
      `--data: ${what}, which is not JSON (${(error as Error).message}), expected JSON such as '{"name": "Ada"}' or @file`,
    );
  }
  return text;
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
