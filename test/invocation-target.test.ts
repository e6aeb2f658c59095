import { invocationTarget, ServiceAddress } from '../api/invocation-target';
import { Problem } from '../api/problem';

/** Which Knative status addresses an invocation may go to (no SSRF through the status). */

const service = (url: string, address?: string): ServiceAddress => ({
  name: 'greet',
  namespace: 'shop',
  url,
  address,
});

function refusal(run: () => unknown): Problem {
  try {
    run();
  } catch (error) {
    if (error instanceof Problem) return error;
    throw error;
  }
  throw new Error('not refused');
}

test('without a gateway: the own cluster-local address, nothing else', () => {
  const own = 'http://greet.shop.svc.cluster.local';
  expect(invocationTarget(service('http://greet.shop.example.com', own), {}).url.href).toBe(
    `${own}/`,
  );
  expect(invocationTarget(service('http://greet.shop.svc'), {}).url.host).toBe('greet.shop.svc');
  expect(
    invocationTarget(service('https://greet.shop.svc.corp.internal'), {
      clusterDomain: 'corp.internal',
    }).url.host,
  ).toBe('greet.shop.svc.corp.internal');

  for (const address of [
    'http://169.254.169.254/',
    'http://greet.other.svc.cluster.local',
    'http://other.shop.svc.cluster.local',
    'http://greet.shop.svc.cluster.local.evil.example',
    'http://greet.shop.svc.evil.example',
    'http://greet.shop.svc.cluster.local:8080',
    'http://user:pw@greet.shop.svc.cluster.local',
    'http://greet.shop.svc.cluster.local/admin',
    'http://greet.shop.svc.cluster.local/?x=1',
    'file:///etc/passwd',
    'not a url',
    'http://127.0.0.1:9000',
  ]) {
    const problem = refusal(() => invocationTarget(service(own, address), {}));
    expect({ address, status: problem.status }).toEqual({ address, status: 502 });
    expect(problem.detail).toContain('unexpected host');
    expect(problem.detail).toContain('greet.shop.svc.cluster.local');
    expect(problem.detail).not.toMatch(/169\.254|other|evil|8080|admin|passwd|9000/);
  }
});

test('dev hosts: the stand-in on a loopback host at any port, only when listed', () => {
  const routing = { devHosts: ['127.0.0.1'] };
  expect(invocationTarget(service('http://127.0.0.1:41234'), routing).url.port).toBe('41234');
  expect(refusal(() => invocationTarget(service('http://127.0.0.2:41234'), routing)).status).toBe(
    502,
  );
  expect(refusal(() => invocationTarget(service('http://127.0.0.1:41234'), {})).status).toBe(502);
});

test('with a gateway: always the gateway, with the own host from status.url', () => {
  const gateway = new URL('http://kourier.kourier-system.svc.cluster.local');
  for (const url of [
    'http://greet.shop.example.com',
    'https://greet.shop.fn.example.com',
    'http://greet.shop.svc.cluster.local',
  ]) {
    const target = invocationTarget(service(url, 'http://greet.shop.svc.cluster.local'), {
      gateway,
      // A dev host changes nothing here: the connection goes to the gateway.
      devHosts: ['127.0.0.1'],
    });
    expect(target).toEqual({ url: gateway, host: new URL(url).hostname });
  }
  for (const url of [
    'http://greet.other.example.com',
    'http://other.shop.example.com',
    'http://greet.shop.example.com:8443',
    'http://127.0.0.1:9000',
    'http://greet.shop.',
  ]) {
    const problem = refusal(() => invocationTarget(service(url), { gateway }));
    expect({ url, status: problem.status }).toEqual({ url, status: 502 });
    expect(problem.detail).not.toMatch(/other|example\.com|8443|9000/);
  }
});
