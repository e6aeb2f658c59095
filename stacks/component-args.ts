/**
 * The checks of the components' arguments, made in their constructors before any resource is
 * registered: a program that uses `KnativeServing` or `HksPlatform` directly has no stack
 * config in front of it. The rules are the stack config's own (setting-rules.ts); the errors
 * name the component, the argument, the value given and what is expected.
 */
import type { Expected } from './setting-rules';

/**
 * Error for a component argument, e.g. `HksPlatform "hks": args.api.replicas: given 0,
 * expected a whole number from 1 to 20`.
 */
export class ComponentArgError extends Error {
  constructor(
    /** The component's type and name, e.g. `HksPlatform "hks"`. */
    readonly component: string,
    /** The argument's path in the args, e.g. `api.replicas`. */
    readonly arg: string,
    /** What was given and what is expected. */
    readonly problem: string,
  ) {
    super(`${component}: args.${arg}: ${problem}`);
    this.name = 'ComponentArgError';
  }
}

/** A value as an error message shows it. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? JSON.stringify(value)
    : `a value of type ${typeof value}`;
}

/** The checks of one component's arguments. */
export interface ArgChecks {
  /** Throws what a rule expects of the argument, if it broke the rule. */
  rule(arg: string, given: unknown, expected: Expected): void;
  /** Throws when `given` is not one of `allowed` (arguments from JavaScript or JSON). */
  oneOf(arg: string, given: unknown, allowed: readonly unknown[]): void;
  /** Throws when `given` is neither a boolean nor left out. */
  optionalBoolean(arg: string, given: unknown): void;
  /**
   * Runs a check that throws `<field>: <problem>` (the checks of knative/ and constructs/)
   * and throws its problem under the argument instead.
   */
  field<T>(arg: string, check: () => T): T;
}

/** Checks of the arguments of the component `<type> "<name>"`. */
export function argChecks(type: string, name: string): ArgChecks {
  const component = `${type} ${JSON.stringify(name)}`;
  const fail = (arg: string, given: unknown, expected: string): never => {
    throw new ComponentArgError(component, arg, `given ${describe(given)}, expected ${expected}`);
  };
  return {
    rule(arg, given, expected) {
      if (expected !== undefined) fail(arg, given, expected);
    },
    oneOf(arg, given, allowed) {
      if (!allowed.includes(given)) {
        fail(arg, given, `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
      }
    },
    optionalBoolean(arg, given) {
      if (given !== undefined && typeof given !== 'boolean') fail(arg, given, 'true or false');
    },
    field(arg, check) {
      try {
        return check();
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        throw new ComponentArgError(component, arg, error.message.replace(/^[\w.]+: /, ''));
      }
    },
  };
}
