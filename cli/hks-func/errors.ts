/** Exit codes of every `hks-func` command. */
export const EXIT_CODES = {
  /** Done. */
  ok: 0,
  /** The API or the function failed: an error status from the API (other than 404), a function error, a network failure, a timeout. */
  failure: 1,
  /** Bad usage or invalid input: flags, arguments, definitions, missing configuration. Nothing was applied. */
  usage: 2,
  /** What was named does not exist (the API answered 404, or there is nothing to show). */
  notFound: 3,
} as const;

/** Exit code of the CLI. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** The help epilog explaining the exit codes. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  the API or the function failed (error status from the API, function error, network, timeout)
  2  bad usage or invalid input (flags, arguments, definitions, missing configuration); nothing applied
  3  not found (the named function, CronJob or execution does not exist)

Configuration: flags > environment (HKS_API_URL, HKS_TOKEN, HKS_PROJECT) > config file
($HKS_CONFIG, default ~/.config/hks/config.json, written by "hks-func login").
With --output json, stdout carries JSON only and errors are JSON objects on stderr.
`;

/** An error the CLI reports as it is, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    public readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }

  /** Bad usage or invalid input (exit 2). */
  public static usage(message: string): CliError {
    return new CliError(message, EXIT_CODES.usage);
  }

  /** Nothing of that name (exit 3). */
  public static notFound(message: string): CliError {
    return new CliError(message, EXIT_CODES.notFound);
  }

  /** The API or function failed (exit 1). */
  public static failure(message: string): CliError {
    return new CliError(message, EXIT_CODES.failure);
  }
}
