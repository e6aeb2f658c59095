/**
 * The stack key `knativeWebhooks`: true by default, so that a real cluster gets Knative's
 * admission webhooks; false (test control planes only, see test/pulumi-up.int.test.ts) leaves
 * out the webhook configurations and nothing else. Pulumi's mocks: no CLI, no cluster.
 */
import { KubeObject } from '../knative';
import type { RawStackConfig } from '../stacks';
import { knativeManifestDir } from './support/knative-dir';
import { installMocks, settled, valueOf } from './support/pulumi-mocks';

jest.setTimeout(60_000);
const registered = installMocks();

let stacks: typeof import('../stacks');
beforeAll(async () => {
  stacks = await import('../stacks');
});

const raw: RawStackConfig = {
  knativeManifestDir: knativeManifestDir(),
  apiJwtSecret: '<set>',
};

/** The Serving ConfigGroup's objects for the given raw config, as `kind/name`. */
async function servingObjects(config: RawStackConfig): Promise<string[]> {
  registered.splice(0);
  const settings = stacks.parseStackConfig(config);
  const stack = stacks.createPlatformStack(settings, {});
  await valueOf(stack.kourierAddress);
  await settled(registered);
  const group = registered.find(
    (r) => r.type === 'kubernetes:yaml/v2:ConfigGroup' && r.name === 'knative-serving',
  );
  return ((group?.inputs.objs ?? []) as KubeObject[]).map((o) => `${o.kind}/${o.metadata.name}`);
}

const WEBHOOKS = [
  'MutatingWebhookConfiguration/webhook.serving.knative.dev',
  'ValidatingWebhookConfiguration/config.webhook.serving.knative.dev',
  'ValidatingWebhookConfiguration/validation.webhook.serving.knative.dev',
];

it('defaults to true: what a real cluster gets', () => {
  expect(stacks.parseStackConfig(raw).knativeWebhooks).toBe(true);
  expect(stacks.parseStackConfig({ ...raw, knativeWebhooks: '' }).knativeWebhooks).toBe(true);
  expect(stacks.parseStackConfig({ ...raw, knativeWebhooks: 'false' }).knativeWebhooks).toBe(false);
});

it('is refused unless true or false, naming the key, the value and what is expected', () => {
  expect(() => stacks.parseStackConfig({ ...raw, knativeWebhooks: 'no' })).toThrow(
    'hks-platform:knativeWebhooks: given "no", expected true or false',
  );
});

it("keeps Knative's webhook configurations by default", async () => {
  const objects = await servingObjects(raw);
  expect(objects.filter((o) => o.includes('WebhookConfiguration/')).sort()).toEqual(WEBHOOKS);
});

it('leaves out the webhook configurations and nothing else with knativeWebhooks false', async () => {
  const all = await servingObjects(raw);
  const without = await servingObjects({ ...raw, knativeWebhooks: 'false' });
  expect(without).toEqual(all.filter((o) => !WEBHOOKS.includes(o)));
  expect(without).toContain('Deployment/webhook');
  expect(all.length - without.length).toBe(WEBHOOKS.length);
});
