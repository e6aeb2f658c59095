import { processEnv } from '../dev/knative/process-env';
import {
  EXECUTE,
  type Ownership,
  READ,
  blockedFor,
  permissionBits,
} from '../dev/knative/process-user';

/** The Knative stand-in's isolation of function processes: pure parts. */

const nobody = { uid: 65534, gid: 65534 };

describe('permission bits', () => {
  test("the owner's, the group's or the others' bits; root has all", () => {
    const file = { uid: 1000, gid: 2000, mode: 0o40751 };
    expect(permissionBits(file, { uid: 1000, gid: 1 })).toBe(7);
    expect(permissionBits(file, { uid: 3000, gid: 2000 })).toBe(5);
    expect(permissionBits(file, nobody)).toBe(1);
    expect(permissionBits(file, { uid: 0, gid: 0 })).toBe(7);
  });
});

describe('blocked paths', () => {
  const tree: Record<string, Ownership> = {
    '/': { uid: 0, gid: 0, mode: 0o40755 },
    '/root': { uid: 0, gid: 0, mode: 0o40700 },
    '/root/.pyenv': { uid: 0, gid: 0, mode: 0o40755 },
    '/root/.pyenv/python3': { uid: 0, gid: 0, mode: 0o100755 },
    '/usr': { uid: 0, gid: 0, mode: 0o40755 },
    '/usr/bin': { uid: 0, gid: 0, mode: 0o40755 },
    '/usr/bin/python3': { uid: 0, gid: 0, mode: 0o100755 },
    '/usr/bin/secret': { uid: 0, gid: 0, mode: 0o100600 },
    '/usr/bin/link': { uid: 0, gid: 0, mode: 0o100755 },
  };
  const stat = (path: string): Ownership => {
    const found = tree[path];
    if (found === undefined) throw new Error(`ENOENT: ${path}`);
    return found;
  };
  const real = (path: string) => (path === '/usr/bin/link' ? '/root/.pyenv/python3' : path);

  test('names the first folder that cannot be searched, with its mode', () => {
    expect(blockedFor('/root/.pyenv/python3', nobody, EXECUTE, stat, real)).toBe(
      '/root is mode 0700 (owner 0:0)',
    );
    expect(blockedFor('/usr/bin/python3', nobody, EXECUTE, stat, real)).toBeUndefined();
    expect(blockedFor('/root/.pyenv/python3', { uid: 0, gid: 0 }, EXECUTE, stat, real)).toBe(
      undefined,
    );
  });

  test('the file itself, a link to an unreachable file, a missing file', () => {
    expect(blockedFor('/usr/bin/secret', nobody, READ, stat, real)).toBe(
      '/usr/bin/secret is mode 0600 (owner 0:0)',
    );
    expect(blockedFor('/usr/bin/link', nobody, EXECUTE, stat, real)).toBe(
      '/root is mode 0700 (owner 0:0)',
    );
    expect(blockedFor('/usr/bin/none', nobody, EXECUTE, stat, real)).toBe(
      '/usr/bin/none: ENOENT: /usr/bin/none',
    );
  });
});

describe('process environment', () => {
  test("the basics, the container's, Knative's and PORT; the container's override basics", () => {
    expect(
      processEnv({
        path: '/usr/bin:/bin',
        lang: undefined,
        container: { HKS_HANDLER: 'main.handler', GREETING: 'hi', HOME: '/home/fn' },
        knative: { K_SERVICE: 'hello' },
        port: 8123,
      }),
    ).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/fn',
      LANG: 'C.UTF-8',
      HKS_HANDLER: 'main.handler',
      GREETING: 'hi',
      K_SERVICE: 'hello',
      PORT: '8123',
    });
  });
});
