import { Agent, type RequestOptions } from 'node:https';

/** The TLS material of a connection: what the kubeconfig's files and data give. */
type TlsMaterial = Pick<
  RequestOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'servername'
>;

const FIELDS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
] as const satisfies readonly (keyof TlsMaterial)[];

/** One agent and the requests still using it. */
interface Generation {
  readonly agent: Agent;
  readonly material: TlsMaterial;
  inFlight: number;
  retired: boolean;
}

/** A request's hold on an agent; released when the request ends. */
export interface AgentLease {
  readonly agent: Agent;
  release(): void;
}

/**
 * The keep-alive connection pool of one process, rebuilt when the TLS material changes: a
 * client certificate, key or CA file replaced on disk (cert-manager, a rotated in-cluster CA)
 * is used from the next request on, without a restart. The old agent is destroyed once its
 * last in-flight request (a watch, a log follow) has ended.
 */
export class KubeAgentPool {
  private current: Generation | undefined;
  /** How many agents were built: 1, plus one per change of the TLS material. */
  public agentsBuilt = 0;
  /** How many requests needed a new connection (a TLS handshake). */
  public newConnections = 0;

  /** The agent for a request with this TLS material; release the lease when it ends. */
  public acquire(options: RequestOptions): AgentLease {
    const material = pick(options);
    if (this.current === undefined || !sameMaterial(this.current.material, material)) {
      if (this.current !== undefined) this.retire(this.current);
      this.current = {
        agent: new Agent({ keepAlive: true, ...material }),
        material,
        inFlight: 0,
        retired: false,
      };
      this.agentsBuilt += 1;
    }
    const generation = this.current;
    generation.inFlight += 1;
    let released = false;
    return {
      agent: generation.agent,
      release: () => {
        if (released) return;
        released = true;
        generation.inFlight -= 1;
        if (generation.retired && generation.inFlight === 0) generation.agent.destroy();
      },
    };
  }

  /** Closes every pooled connection. */
  public close(): void {
    if (this.current !== undefined) this.retire(this.current);
    this.current = undefined;
  }

  private retire(generation: Generation): void {
    generation.retired = true;
    if (generation.inFlight === 0) generation.agent.destroy();
  }
}

function pick(options: RequestOptions): TlsMaterial {
  const material: Record<string, unknown> = {};
  for (const field of FIELDS) if (options[field] !== undefined) material[field] = options[field];
  return material as TlsMaterial;
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return FIELDS.every((field) => sameValue(a[field], b[field]));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  if (isBytes(a) && isBytes(b)) return Buffer.from(a).equals(Buffer.from(b));
  return false;
}

function isBytes(value: unknown): value is string | Buffer {
  return typeof value === 'string' || Buffer.isBuffer(value);
}
