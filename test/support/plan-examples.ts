import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Repository root. */
const repoRoot = resolve(__dirname, '..', '..');

/**
 * The plan this platform comes from: `HKS_SHARED_DIR` (by default `../shared` next to the
 * repository) `/plan/cronjob-and-function-plan.md`. Read at test time, never copied in.
 */
export function planFile(): string {
  const shared = resolve(repoRoot, process.env.HKS_SHARED_DIR ?? join('..', 'shared'));
  return join(shared, 'plan', 'cronjob-and-function-plan.md');
}

/** The handlers the plan's integration examples give as Python strings, exactly as written. */
export interface PlanExamples {
  /** `backup_code = """..."""` of "Backup Automation". */
  readonly backup: string;
  /** `alert_handler = """..."""` of "Monitoring Alert Handler". */
  readonly alert: string;
}

/** Reads the examples' code from the plan, or throws naming what is missing. */
export function planExamples(file = planFile()): PlanExamples {
  const text = readFileSync(file, 'utf8');
  const literal = (variable: string): string => {
    const found = new RegExp(`^${variable} = """([\\s\\S]*?)"""`, 'm').exec(text);
    if (!found) throw new Error(`${file}: no ${variable} = """...""" found; set HKS_SHARED_DIR`);
    return found[1];
  };
  return { backup: literal('backup_code'), alert: literal('alert_handler') };
}

/** The stand-ins for what the examples need the internet or undefined helpers for. */
export function planStandIns(): Record<string, string> {
  const dir = join(repoRoot, 'examples', 'plan-stand-ins');
  return Object.fromEntries(
    ['boto3/__init__.py', 'plan/__init__.py'].map((file) => [
      file,
      readFileSync(join(dir, file), 'utf8'),
    ]),
  );
}
