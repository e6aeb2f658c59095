/** Where the harness reports progress. */
export type Log = (message: string) => void;

/** Progress lines on stderr, prefixed so they stand out in test output. */
export const stderrLog: Log = (message) => {
  process.stderr.write(`[cluster] ${message}\n`);
};

/** Formats a duration in milliseconds as seconds with one decimal, e.g. `12.3 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
