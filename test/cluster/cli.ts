import { clusterDown, clusterUp } from './cluster';
import { stderrLog } from './log';

/**
 * `tsx test/cluster/cli.ts up|down`: starts or stops the local test control plane
 * (see test/cluster/README.md).
 */
async function main(command: string | undefined): Promise<void> {
  switch (command) {
    case 'up': {
      const result = await clusterUp(stderrLog);
      process.stdout.write(`${result.kubeconfig}\n`);
      return;
    }
    case 'down':
      await clusterDown(stderrLog);
      return;
    default:
      throw new Error(`usage: tsx test/cluster/cli.ts up|down (got "${command ?? ''}")`);
  }
}

main(process.argv[2]).catch((error: unknown) => {
  stderrLog(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
