import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const fallbackGo = '/usr/local/go/bin/go';

/**
 * Finds the Go tool: `HKS_GO` if set, else `go` on PATH, else `/usr/local/go/bin/go`.
 */
export function findGo(): string {
  if (process.env.HKS_GO) {
    return process.env.HKS_GO;
  }
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return 'go';
  } catch {
    if (existsSync(fallbackGo)) {
      return fallbackGo;
    }
    throw new Error('Go is needed to build the test control plane: install it or set HKS_GO');
  }
}
