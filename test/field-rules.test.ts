import {
  checkAppName,
  checkImage,
  checkLabelKey,
  checkTimeZone,
  parseCpu,
  parseMemory,
  pullsAlways,
} from '../constructs';

describe('quantities', () => {
  test.each([
    ['250m', '250m', 250],
    ['0.5', '0.5', 500],
    [2, '2', 2000],
    ['1.5', '1.5', 1500],
  ])('cpu %j', (given, text, millicores) => {
    expect(parseCpu(given)).toEqual({ text, millicores });
  });

  test.each(['lots', '0', '0.0001', '-1', '250M', '1e3', ''])('rejects cpu %j', (given) => {
    expect(parseCpu(given)).toMatch(
      new RegExp(
        `^given ${JSON.stringify(given).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, expected a CPU amount`,
      ),
    );
  });

  test.each([
    ['128Mi', 128],
    ['1Gi', 1024],
    ['1.5Gi', 1536],
    ['1048576Ki', 1024],
    [268435456, 256],
  ])('memory %j', (given, mebibytes) => {
    expect(parseMemory(given)).toEqual({ text: `${mebibytes}Mi`, mebibytes });
  });

  test('memory that is not a whole number of Mi says how much it is', () => {
    expect(parseMemory('512M')).toBe(
      'given "512M" (488.28Mi), expected a memory amount such as 128Mi, 1Gi or 1.5Gi: a whole number of Mi',
    );
  });

  test.each(['lots', '0Mi', '12 Mi', '1GB'])('rejects memory %j', (given) => {
    expect(parseMemory(given)).toMatch(/^given .*expected a memory amount/);
  });
});

describe('time zones', () => {
  test.each([
    'Asia/Tokyo',
    'Europe/Berlin',
    'UTC',
    'Etc/UTC',
    'America/Argentina/Buenos_Aires',
    'US/Pacific',
  ])('accepts %s', (zone) => {
    expect(checkTimeZone(zone)).toBeUndefined();
  });

  test.each(['Mars/Olympus', 'Local', '', '+09:00', 'JST-9', 'Asia Tokyo'])(
    'rejects %j',
    (zone) => {
      expect(checkTimeZone(zone)).toBe(
        `given ${JSON.stringify(zone)}, expected an IANA time zone such as Asia/Tokyo, Europe/Berlin or UTC`,
      );
    },
  );

  test('names the exact spelling when only the case is wrong', () => {
    expect(checkTimeZone('asia/tokyo')).toBe(
      'given "asia/tokyo", expected the exact spelling "Asia/Tokyo" (time zone names are case-sensitive)',
    );
  });
});

describe('names, labels and images', () => {
  test('application names', () => {
    expect(checkAppName('nightly-report')).toBeUndefined();
    expect(checkAppName('Nightly')).toMatch(/^given "Nightly", expected a name: a DNS-1123 label/);
    expect(checkAppName('1job')).toMatch(/starting with a letter/);
    expect(checkAppName('job-')).toMatch(/DNS-1123/);
    expect(checkAppName('a'.repeat(53))).toBe(
      `given "${'a'.repeat(53)}" (53 characters), expected at most 52 characters`,
    );
  });

  test('label keys reserve the platform prefixes', () => {
    expect(checkLabelKey('team')).toBeUndefined();
    expect(checkLabelKey('example.com/tier')).toBeUndefined();
    expect(checkLabelKey('hks.hexabase.io/project')).toMatch(/outside hks.hexabase.io\//);
    expect(checkLabelKey('bad key')).toMatch(/expected a label key/);
  });

  test('images', () => {
    for (const image of [
      'nginx',
      'nginx:1.27',
      'ghcr.io/acme/api:1.4.2',
      'localhost:5000/a/b@sha256:' + 'a'.repeat(64),
    ]) {
      expect(checkImage(image)).toBeUndefined();
    }
    expect(checkImage('Ghcr.io/Acme/API')).toMatch(/expected an image reference/);
    expect(checkImage('nginx latest')).toMatch(/expected an image reference/);
  });

  test('pull policy follows Kubernetes: Always only for latest or untagged images', () => {
    expect(pullsAlways('nginx')).toBe(true);
    expect(pullsAlways('nginx:latest')).toBe(true);
    expect(pullsAlways('localhost:5000/nginx')).toBe(true);
    expect(pullsAlways('nginx:1.27')).toBe(false);
    expect(pullsAlways('nginx@sha256:' + 'a'.repeat(64))).toBe(false);
  });
});
