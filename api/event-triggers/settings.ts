import { ConfigError } from '../config';

/** How the API reaches the NATS server and runs event triggers (docs/event-triggers.md). */
export interface EventTriggerSettings {
  /**
   * `HKS_NATS_URL`: the NATS server(s), comma-separated (`nats://host:4222`). Unset, no trigger
   * runs and an apply of a definition with triggers is refused.
   * @default - none
   */
  readonly url?: string;
  /** `HKS_NATS_CREDS`: a `.creds` file (JWT and NKey seed) to connect with. @default - none */
  readonly credentialsFile?: string;
  /** `HKS_NATS_TOKEN`: a token to connect with. @default - none */
  readonly token?: string;
  /** `HKS_NATS_USER` and `HKS_NATS_PASSWORD`: a user to connect as. @default - none */
  readonly user?: string;
  readonly password?: string;
  /** `HKS_EVENT_TRIGGER_CONCURRENCY`: messages of one trigger one replica handles at once. @default 4 */
  readonly concurrency: number;
  /** `HKS_EVENT_TRIGGER_RECONCILE_MS`: how often a replica reads the applied triggers. @default 5000 */
  readonly reconcileMs: number;
}

/** Reads the settings. @throws ConfigError naming the variable, the value and what is expected */
export function readEventTriggerSettings(
  env: NodeJS.ProcessEnv = process.env,
): EventTriggerSettings {
  const problems: string[] = [];
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const text = env[name] ?? String(fallback);
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max)
      problems.push(
        `${name}: given ${JSON.stringify(text)}, expected a whole number from ${min} to ${max}`,
      );
    return value;
  };
  const url = env.HKS_NATS_URL || undefined;
  for (const server of url?.split(',') ?? [])
    if (!/^(nats|tls|wss?):\/\/[^\s/]+\/?$/.test(server.trim()))
      problems.push(
        `HKS_NATS_URL: given ${JSON.stringify(server)}, expected nats://host:port (or tls://, ws://, wss://), comma-separated`,
      );
  if ((env.HKS_NATS_USER === undefined) !== (env.HKS_NATS_PASSWORD === undefined))
    problems.push(
      'HKS_NATS_USER and HKS_NATS_PASSWORD: given one of them, expected both or neither',
    );
  const settings: EventTriggerSettings = {
    url,
    credentialsFile: env.HKS_NATS_CREDS || undefined,
    token: env.HKS_NATS_TOKEN || undefined,
    user: env.HKS_NATS_USER,
    password: env.HKS_NATS_PASSWORD,
    concurrency: integer('HKS_EVENT_TRIGGER_CONCURRENCY', 4, 1, 256),
    reconcileMs: integer('HKS_EVENT_TRIGGER_RECONCILE_MS', 5000, 100, 300_000),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}
