import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionLog } from './action-log';
import { type FileModes, SHARED_MODES, makeFolders } from './function-files';
import { PROCESS_HOME } from './process-env';
import { EXECUTE, type ProcessUser, blockedFor } from './process-user';
import { type ProgramLocation, locateProgram, searchableFolders } from './program-path';

/** The user function processes run as when the stand-in runs as root: `nobody`. */
export const DEFAULT_RUN_AS: ProcessUser = { uid: 65534, gid: 65534 };

/** Who function processes run as, and where their files go. */
export interface ProcessIsolation {
  /** The user they run as; undefined: the stand-in's own (it is not root). */
  readonly user: ProcessUser | undefined;
  /** Their `PATH`: the stand-in's, without the folders their user cannot search. */
  readonly path: string;
  /** Modes of their files; undefined: the defaults. */
  readonly modes: FileModes | undefined;
  /**
   * Creates afresh (empty) and returns the folder of a revision's files, `<ns>/<svc>/<rev>` in
   * the state folder or, for another user, in a temporary folder of the stand-in's.
   */
  freshRevisionDir(namespace: string, service: string, revision: string): string;
  /** Removes the files of a Service. */
  removeService(namespace: string, service: string): void;
  /** Where `program` is for their user (the name as given when there is no other user). */
  program(name: string): Promise<ProgramLocation>;
  /** Removes the temporary folder of files. */
  close(): void;
}

/** Options of {@link setUpIsolation}. */
export interface IsolationOptions {
  /** The stand-in's state folder (already created). */
  readonly stateDir: string;
  /**
   * The uid and gid function processes run as when the stand-in runs as root.
   * @default DEFAULT_RUN_AS
   */
  readonly runAs?: ProcessUser;
  readonly log: ActionLog;
  /**
   * The stand-in's uid.
   * @default - `process.getuid()`
   */
  readonly currentUid?: number;
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * A new folder for the function files, searchable (not listable) by everyone: the state
 * folder is made the stand-in's alone (mode 0700), so that its logs and anything else
 * kept there are out of the functions' reach.
 */
function filesFolder(stateDir: string, user: ProcessUser): string {
  chmodSync(stateDir, 0o700);
  const base = blockedFor(tmpdir(), user, EXECUTE) === undefined ? tmpdir() : '/tmp';
  const dir = mkdtempSync(join(base, 'hks-knative-files-'));
  chmodSync(dir, SHARED_MODES.path);
  return dir;
}

/**
 * Sets up who function processes run as. As root, they run as `runAs` (unprivileged: they
 * cannot read the stand-in's environment in `/proc` or its state files); else as the
 * stand-in's own user, as before. Either way they get a scrubbed environment
 * ({@link processEnv}).
 */
export function setUpIsolation(options: IsolationOptions): ProcessIsolation {
  const { stateDir, log } = options;
  const currentUid = options.currentUid ?? process.getuid?.() ?? -1;
  const standInPath = process.env.PATH ?? DEFAULT_PATH;
  const requested = options.runAs ?? DEFAULT_RUN_AS;
  if (currentUid !== 0 || requested.uid === 0) {
    log(currentUid === 0 ? 'warning' : 'function processes', {
      uid: currentUid,
      message:
        currentUid === 0
          ? 'function processes run as root (--run-as-uid 0): they can read everything the stand-in can'
          : 'function processes run as the stand-in user (it is not root), with a scrubbed environment',
    });
    return {
      user: undefined,
      path: standInPath,
      modes: undefined,
      freshRevisionDir: (namespace, service, revision) => {
        const dir = join(stateDir, namespace, service, revision);
        rmSync(dir, { recursive: true, force: true });
        makeFolders(stateDir, dir, undefined);
        return dir;
      },
      removeService: () => undefined,
      program: (name) => Promise.resolve({ found: true, path: name, skipped: [] }),
      close: () => undefined,
    };
  }

  const user = requested;
  const filesDir = filesFolder(stateDir, user);
  const path = searchableFolders(standInPath, user).join(':') || DEFAULT_PATH;
  const probeEnv = { PATH: path, HOME: PROCESS_HOME, LANG: process.env.LANG ?? 'C.UTF-8' };
  const programs = new Map<string, Promise<ProgramLocation>>();
  log('function processes', {
    uid: user.uid,
    gid: user.gid,
    filesDir,
    message: `function processes run as uid ${user.uid}, gid ${user.gid}, with a scrubbed environment`,
  });
  return {
    user,
    path,
    modes: SHARED_MODES,
    freshRevisionDir: (namespace, service, revision) => {
      const dir = join(filesDir, namespace, service, revision);
      rmSync(dir, { recursive: true, force: true });
      makeFolders(filesDir, dir, SHARED_MODES.path);
      return dir;
    },
    removeService: (namespace, service) => {
      rmSync(join(filesDir, namespace, service), { recursive: true, force: true });
    },
    program: (name) => {
      let location = programs.get(name);
      if (location === undefined) {
        // The whole PATH: the log names what was skipped and why.
        location = locateProgram(name, standInPath, user, probeEnv);
        programs.set(name, location);
        void location.then((found) => {
          // A program installed later is found on the next start.
          if (!found.found) programs.delete(name);
          else if (found.skipped.length > 0) {
            log('function program', {
              program: name,
              path: found.path,
              message: `uid ${user.uid} cannot run ${found.skipped.join('; ')}: using ${found.path}`,
            });
          }
        });
      }
      return location;
    },
    close: () => {
      rmSync(filesDir, { recursive: true, force: true });
    },
  };
}
