import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { binaryPath } from './build';
import { kubectl as kubectlComponent } from './components';
import { kubeconfigPath } from './kubeconfig';

/**
 * The kubectl the tests run: `HKS_KUBECTL`, else the one built next to the control plane
 * (same release), else `kubectl` on PATH.
 */
export function kubectlBinary(): string {
  const built = binaryPath(kubectlComponent, 'kubectl');
  return process.env.HKS_KUBECTL ?? (existsSync(built) ? built : 'kubectl');
}

/** Output of one kubectl run. */
export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `kubectl` against the test cluster (`--kubeconfig` from {@link kubeconfigPath})
 * and resolves with its exit code and output; it does not reject on a non-zero exit.
 *
 * @param args kubectl arguments, e.g. `['get', 'nodes', '-o', 'json']`
 * @param input text for stdin, e.g. a manifest for `apply -f -`
 * @param kubeconfig another kubeconfig, e.g. one holding a service account token
 */
export function kubectl(
  args: readonly string[],
  input?: string,
  kubeconfig = kubeconfigPath(),
): Promise<KubectlResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      kubectlBinary(),
      ['--kubeconfig', kubeconfig, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolvePromise({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/**
 * Runs `kubectl` and returns its stdout; rejects with stderr when it fails.
 *
 * @param args kubectl arguments
 * @param input text for stdin
 */
export async function kubectlOk(args: readonly string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  if (result.code !== 0) {
    throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr}`);
  }
  return result.stdout;
}

/**
 * Runs `kubectl ... -o json` and parses the output.
 *
 * @param args kubectl arguments without `-o`
 */
export async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectlOk([...args, '-o', 'json'])) as T;
}
