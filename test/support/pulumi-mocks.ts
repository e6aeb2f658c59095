import * as pulumi from '@pulumi/pulumi';

/** One resource registered with the mock engine. */
export interface RegisteredResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly parent: string;
  readonly dependencies: readonly string[];
  /** Inputs as the engine received them (secrets unwrapped). */
  readonly inputs: Record<string, unknown>;
  /** Set for resources read with `.get`. */
  readonly id?: string;
  /** The provider reference (`<urn>::<id>`) of a custom resource, empty for a component. */
  readonly provider: string;
}

/**
 * What the API server adds to the Kourier gateway Service, in the outputs of the ConfigGroup
 * that creates it (its `resources`).
 */
export const GATEWAY_STATE = {
  spec: {
    type: 'LoadBalancer',
    clusterIP: '10.96.0.10',
    ports: [{ name: 'http2', port: 80, nodePort: 31080 }],
  },
  status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
};

interface RegisterRequest {
  getProvider(): string;
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}

/**
 * Installs Pulumi mocks (no CLI, no engine) and records every resource registration with its
 * parent and dependencies. Call before the program under test is created.
 */
export function installMocks(): RegisteredResource[] {
  const registered: RegisteredResource[] = [];
  const requests = new Map<string, RegisterRequest>();
  pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const request = requests.get(`${args.type}::${args.name}`);
        registered.push({
          type: args.type,
          name: args.name,
          urn: `${args.type}::${args.name}`,
          parent: request?.getParent() ?? '',
          dependencies: request?.getDependenciesList() ?? [],
          inputs: args.inputs as Record<string, unknown>,
          id: args.id,
          provider: request?.getProvider() ?? '',
        });
        if (args.type === 'kubernetes:yaml/v2:ConfigGroup') {
          return {
            id: `${args.name}-id`,
            state: { ...args.inputs, resources: created(args.inputs) },
          };
        }
        if (args.id !== undefined) return { id: args.id, state: GATEWAY_STATE };
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    'hks-platform',
    'test',
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(request: RegisterRequest, callback: unknown): unknown;
    readResource(request: RegisterRequest, callback: unknown): unknown;
  };
  for (const method of ['registerResource', 'readResource'] as const) {
    const original = monitor[method].bind(monitor);
    monitor[method] = (request, callback) => {
      requests.set(`${request.getType()}::${request.getName()}`, request);
      return original(request, callback);
    };
  }
  return registered;
}

/**
 * A ConfigGroup's `resources` as plain objects: its objects, the Kourier gateway with what the
 * API server assigns ({@link GATEWAY_STATE}).
 */
function created(inputs: Record<string, unknown>): unknown[] {
  const objects = (inputs.objs ?? []) as {
    kind?: string;
    metadata?: { name?: string; namespace?: string };
    spec?: Record<string, unknown>;
  }[];
  return objects.map((o) =>
    o.kind === 'Service' &&
    o.metadata?.name === 'kourier' &&
    o.metadata.namespace === 'kourier-system'
      ? {
          ...o,
          spec: { ...GATEWAY_STATE.spec, ...o.spec, ports: GATEWAY_STATE.spec.ports },
          status: GATEWAY_STATE.status,
        }
      : o,
  );
}

/** Resolves an output (mock mode resolves every output). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Waits until no new resource has been registered for a few turns of the event loop. */
export async function settled(registered: readonly unknown[]): Promise<void> {
  let last = -1;
  let quiet = 0;
  while (quiet < 5) {
    await new Promise((r) => setTimeout(r, 10));
    quiet = registered.length === last ? quiet + 1 : 0;
    last = registered.length;
  }
}
