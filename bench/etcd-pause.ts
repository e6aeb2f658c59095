/**
 * Pausing the test harness's etcd (SIGSTOP) and always resuming it (SIGCONT): on `resume()`,
 * on exit and on Ctrl-C, so a bench that stops half way never leaves the shared cluster frozen.
 */
import { clusterConfig } from '../test/cluster/config';
import { processFiles, runningPid } from '../test/cluster/processes';

/** A paused etcd; `resume()` may be called any number of times. */
export interface PausedEtcd {
  readonly pid: number;
  resume(): void;
}

/** The pid of the harness's etcd (from its pid file), if it runs. */
export function harnessEtcdPid(): number | undefined {
  return runningPid(processFiles(clusterConfig().stateDir, 'etcd').pidFile);
}

/** Sends SIGSTOP to `pid`; SIGCONT on resume, process exit, SIGINT or SIGTERM. */
export function pauseEtcd(pid: number): PausedEtcd {
  let paused = true;
  const resume = () => {
    if (!paused) return;
    paused = false;
    process.kill(pid, 'SIGCONT');
    process.off('exit', resume);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    resume();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('exit', resume);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.kill(pid, 'SIGSTOP');
  return { pid, resume };
}
