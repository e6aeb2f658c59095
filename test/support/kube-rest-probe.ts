/**
 * A process holding one {@link KubeRest} for a kubeconfig (argv[2]) and calling the API server
 * as told on stdin, one command a line, one JSON answer a line on stdout:
 * `whoami` (a SelfSubjectReview), `watch` (opens a watch of namespaces and keeps it),
 * `watching` (whether that watch is still open).
 */
import { createInterface } from 'node:readline';
import type { IncomingMessage } from 'node:http';
import { loadKubeConfig } from '../../api/kube-config';
import { KubeRest } from '../../api/kube-rest';

const rest = new KubeRest(loadKubeConfig(process.argv[2]));
let watch: IncomingMessage | undefined;
let watchEnded = false;

const counters = () => ({ newConnections: rest.newConnections, agentsBuilt: rest.agentsBuilt });

async function run(command: string): Promise<object> {
  switch (command) {
    case 'whoami': {
      const review = await rest.request<{ status?: { userInfo?: { username?: string } } }>(
        'POST',
        '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      );
      return { username: review.status?.userInfo?.username, ...counters() };
    }
    case 'watch':
      watch = await rest.stream('/api/v1/namespaces?watch=true&timeoutSeconds=120');
      watch.resume();
      watch.once('close', () => (watchEnded = true));
      return counters();
    case 'watching':
      return { watching: watch !== undefined && !watchEnded, ...counters() };
    default:
      throw new Error(`unknown command ${JSON.stringify(command)}`);
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  run(line.trim()).then(
    (answer) => process.stdout.write(`${JSON.stringify(answer)}\n`),
    (error: unknown) =>
      process.stdout.write(`${JSON.stringify({ error: (error as Error).message })}\n`),
  );
});
process.stdin.once('end', () => {
  watch?.destroy();
  rest.close();
});
