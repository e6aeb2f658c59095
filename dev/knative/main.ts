#!/usr/bin/env -S npx tsx
/**
 * `npm run dev:knative -- [--install-crds [--knative-dir <dir>]] [--state-dir <dir>] [--namespace-prefix <prefix>] [--log-format json|plain] [--run-as-uid <uid>] [--run-as-gid <gid>] [--scale-to-zero-after <seconds>] [--retain-non-active <seconds>] [--real-pods]`
 *
 * The Knative controller stand-in, for development and tests only (never used outside them):
 * against the cluster of `KUBECONFIG` (e.g. `npm run cluster:up`, which has the Knative
 * Serving CRDs but no Knative controller) it turns Knative Services into Revisions, runs
 * source-runtime functions as local processes behind a router on 127.0.0.1 and writes the
 * Services' status. Run as root, it runs the functions as an unprivileged user (nobody), each
 * with only its container's environment. With `--real-pods` (or `HKS_KNATIVE_REAL_PODS=1`) it
 * runs each revision as its own pod on the test cluster's real node instead (docs/definitions.md, "Real
 * pods"). One line per action on stdout. Ctrl-C (SIGINT) or SIGTERM stops every
 * process it started. Exit codes: 0 stopped, 1 could not start, 2 bad usage.
 */
import { Command } from 'commander';
import { parseArguments } from '../../cli/parse-arguments';
import { loadKubeConfig } from '../../api/kube-config';
import { type ActionLogFormat, consoleActionLog } from './action-log';
import { defaultKnativeDir, installServingCrds } from './install-crds';
import { runKnativeStandIn } from './stand-in';

interface StandInFlags {
  readonly stateDir?: string;
  readonly namespacePrefix?: string;
  readonly logFormat: string;
  readonly readyTimeout: string;
  readonly installCrds?: boolean;
  readonly knativeDir?: string;
  readonly runAsUid?: string;
  readonly runAsGid?: string;
  readonly scaleToZeroAfter?: string;
  readonly retainNonActive?: string;
  readonly realPods?: boolean;
}

/** A seconds flag's value in ms; undefined when not given, false when not a number above 0. */
function parseSeconds(value: string | undefined): number | undefined | false {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : false;
}

/** `HKS_KNATIVE_REAL_PODS`: `1` is on, unset, empty or `0` off; undefined for anything else. */
function realPodsFromEnv(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '' || value === '0') return false;
  return value === '1' ? true : undefined;
}

/** A uid or gid flag's value; undefined when given but not one. */
function parseId(value: string | undefined): number | undefined | false {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) && Number(value) < 2 ** 32 ? Number(value) : false;
}

async function main(argv: readonly string[]): Promise<number> {
  const parent = process.ppid;
  const program = new Command('dev:knative')
    .description(
      'Knative controller stand-in for development and tests: Revisions, local function processes, routers, Service status',
    )
    .option('--state-dir <dir>', 'folder for revision files and logs (default: .hks/knative)')
    .option('--namespace-prefix <prefix>', 'only handle Services in namespaces with this prefix')
    .option('--log-format <format>', 'json or plain', 'plain')
    .option('--ready-timeout <seconds>', 'how long a function may take to become healthy', '30')
    .option(
      '--run-as-uid <uid>',
      'uid of the function processes when the stand-in runs as root (default: 65534, nobody)',
    )
    .option('--run-as-gid <gid>', 'gid of the function processes when root (default: 65534)')
    .option(
      '--scale-to-zero-after <seconds>',
      'stop a revision (min-scale 0) idle this long; its next request starts it again (default: never)',
    )
    .option(
      '--retain-non-active <seconds>',
      'delete a revision no longer routed after this long, like Knative revision GC (default: never)',
    )
    .option(
      '--real-pods',
      "run each revision as its pod on the test cluster's real node (default: $HKS_KNATIVE_REAL_PODS=1, else local processes)",
    )
    .option('--install-crds', 'first install the Knative Serving CRDs (server-side apply)')
    .option(
      '--knative-dir <dir>',
      'Knative release folder for --install-crds (default: $HKS_KNATIVE_DIR or ../shared/knative/v1.13.0)',
    );
  const exit = parseArguments(program, argv);
  if (exit !== undefined) return exit;
  const flags = program.opts<StandInFlags>();
  if (flags.logFormat !== 'json' && flags.logFormat !== 'plain') {
    process.stderr.write(
      `--log-format: given ${JSON.stringify(flags.logFormat)}, expected json or plain\n`,
    );
    return 2;
  }
  const readyTimeout = Number(flags.readyTimeout);
  if (!Number.isFinite(readyTimeout) || readyTimeout <= 0) {
    process.stderr.write(
      `--ready-timeout: given ${JSON.stringify(flags.readyTimeout)}, expected a number of seconds above 0\n`,
    );
    return 2;
  }
  const runAsUser = parseId(flags.runAsUid);
  const runAsGroup = parseId(flags.runAsGid);
  if (runAsUser === false || runAsGroup === false) {
    process.stderr.write(
      `--run-as-uid/--run-as-gid: given ${JSON.stringify(runAsUser === false ? flags.runAsUid : flags.runAsGid)}, expected a number from 0\n`,
    );
    return 2;
  }
  const scaleToZeroAfterMs = parseSeconds(flags.scaleToZeroAfter);
  const retainNonActiveMs = parseSeconds(flags.retainNonActive);
  if (scaleToZeroAfterMs === false || retainNonActiveMs === false) {
    const [flag, given] =
      scaleToZeroAfterMs === false
        ? ['--scale-to-zero-after', flags.scaleToZeroAfter]
        : ['--retain-non-active', flags.retainNonActive];
    process.stderr.write(
      `${flag}: given ${JSON.stringify(given)}, expected a number of seconds above 0\n`,
    );
    return 2;
  }
  const realPods = flags.realPods ?? realPodsFromEnv(process.env.HKS_KNATIVE_REAL_PODS);
  if (realPods === undefined) {
    process.stderr.write(
      `HKS_KNATIVE_REAL_PODS: given ${JSON.stringify(process.env.HKS_KNATIVE_REAL_PODS)}, expected 1 (real pods) or 0\n`,
    );
    return 2;
  }
  // With its reader gone (a parent that died), log lines are dropped instead of crashing the
  // stand-in before it has stopped its processes and deleted its pods.
  process.stdout.on('error', () => undefined);
  const log = consoleActionLog(flags.logFormat as ActionLogFormat);
  if (flags.installCrds) {
    try {
      const config = loadKubeConfig();
      const crds = await installServingCrds(config, flags.knativeDir ?? defaultKnativeDir());
      log('installed Knative Serving CRDs', { count: crds.length });
    } catch (error) {
      process.stderr.write(
        `dev:knative: could not install the Knative CRDs: ${error instanceof Error ? error.message : String(error)}\n`,
      );
      return 1;
    }
  }
  let standIn;
  try {
    standIn = await runKnativeStandIn({
      stateDir: flags.stateDir,
      namespacePrefix: flags.namespacePrefix,
      readyTimeoutMs: readyTimeout * 1000,
      runAsUser,
      runAsGroup,
      scaleToZeroAfterMs,
      retainNonActiveMs,
      realPods,
      log,
    });
  } catch (error) {
    process.stderr.write(
      `dev:knative: could not start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  const signal = await new Promise<string>((resolve) => {
    // Stay subscribed: npm and tsx pass a terminal's Ctrl-C on as well, and a second signal
    // must not end the process before its children are stopped.
    process.on('SIGINT', () => resolve('SIGINT'));
    process.on('SIGTERM', () => resolve('SIGTERM'));
    // A parent that died without a word (e.g. a killed test run) must not leave it running.
    setInterval(() => process.ppid !== parent && resolve('parent exited'), 1_000).unref();
  });
  log('stopping', { signal });
  await standIn.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
