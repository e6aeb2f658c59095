import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Problem } from './problem';

/** Bounds of the kept verdicts of source checks. */
export interface SourceCheckCacheOptions {
  /** Verdicts kept at most. @default 1000 */
  readonly maxEntries?: number;
  /** UTF-8 bytes of the kept verdicts (keys, problems' details and errors) at most. @default 4194304 (4 MiB) */
  readonly maxBytes?: number;
}

/** Verdicts kept at most, by default. */
export const DEFAULT_SOURCE_CHECK_CACHE_ENTRIES = 1000;
/** Bytes of kept verdicts at most, by default. */
export const DEFAULT_SOURCE_CHECK_CACHE_BYTES = 4 * 1024 * 1024;

/** What one check concluded: the source is accepted, or refused with this problem. */
export type SourceVerdict =
  { readonly accepted: true } | { readonly accepted: false; readonly problem: Problem };

/** Bytes counted for an entry beyond its key and problem (the objects around them). */
const ENTRY_OVERHEAD_BYTES = 64;

/**
 * The verdicts of source checks already made, by a hash of everything a verdict depends on: an
 * agent that retries the same code gets the first check's answer without compiling it again.
 * Least recently used verdicts go first once either bound is reached; a verdict larger than the
 * byte bound is not kept.
 */
export class SourceCheckCache {
  private readonly verdicts: LRUCache<string, SourceVerdict>;

  constructor(options: SourceCheckCacheOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_SOURCE_CHECK_CACHE_ENTRIES;
    const maxBytes = options.maxBytes ?? DEFAULT_SOURCE_CHECK_CACHE_BYTES;
    for (const [field, value] of [
      ['maxEntries', maxEntries],
      ['maxBytes', maxBytes],
    ] as const) {
      if (!Number.isInteger(value) || value < 1)
        throw new Error(`SourceCheckCache ${field}: given ${value}, expected a positive integer`);
    }
    this.verdicts = new LRUCache<string, SourceVerdict>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (verdict, key) => verdictBytes(key, verdict),
    });
  }

  /**
   * The key of a check: a SHA-256 of its parts, each prefixed by its length so that no two
   * different lists of parts give the same input.
   */
  public static keyOf(parts: readonly string[]): string {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(`${Buffer.byteLength(part)}:`).update(part);
    return hash.digest('hex');
  }

  /** The verdict kept for `key`, now the most recently used. @returns undefined when none is */
  public get(key: string): SourceVerdict | undefined {
    return this.verdicts.get(key);
  }

  /** Keeps a verdict, dropping the least recently used ones past the bounds. */
  public set(key: string, verdict: SourceVerdict): void {
    this.verdicts.set(key, verdict);
  }

  /** Verdicts kept. */
  public get size(): number {
    return this.verdicts.size;
  }

  /** Bytes the kept verdicts count for (at most `maxBytes`). */
  public get bytes(): number {
    return this.verdicts.calculatedSize;
  }
}

/** A copy of a kept problem, so that each refusal is an error of its own (its own stack). */
export function freshProblem(problem: Problem): Problem {
  return new Problem(
    problem.status,
    problem.title,
    problem.detail,
    problem.errors,
    problem.headers,
    problem.extensions,
  );
}

function verdictBytes(key: string, verdict: SourceVerdict): number {
  if (verdict.accepted) return key.length + ENTRY_OVERHEAD_BYTES;
  const { title, detail, errors } = verdict.problem;
  return (
    key.length +
    ENTRY_OVERHEAD_BYTES +
    Buffer.byteLength(title) +
    Buffer.byteLength(detail) +
    Buffer.byteLength(JSON.stringify(errors))
  );
}
