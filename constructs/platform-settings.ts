import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { BuildProjectChartsOptions } from './build-project-charts';
import { DefinitionProblem, formatPath, formatProblem } from './definition-problem';
import { checkImage, checkProjectName, describeValue } from './field-rules';
import { describeIssue } from './parse-definition';
import type { ProjectTenancyOptions } from './project-tenancy';
import { isProblem, parseCpu, parseMemory } from './quantity';

/**
 * The operator's settings of the platform: tenancy defaults, per-project overrides and the
 * images of source runtimes. They are read by every door (synth, the API, the Pulumi stack)
 * and never taken from a tenant's definitions, so that no tenant can raise its own quota.
 * The defaults of each field stay in {@link ProjectTenancyOptions} and DEFAULT_RUNTIME_IMAGES.
 */

/** A string checked by one of the shared rules; the rule's sentence is the error. */
function ruled(check: (value: string) => string | undefined) {
  return z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });
}

/** Any existing namespace (the data plane's are reserved for projects, not here). */
function checkIngressNamespace(value: string): string | undefined {
  if (/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(value)) return undefined;
  return `given ${describeValue(value)}, expected a namespace name: a DNS-1123 label of at most 63 lower-case letters, digits and '-'`;
}

/** A quantity given as a string or a YAML number, kept as the string Kubernetes reads. */
function quantity(parse: (value: string | number) => unknown) {
  return z
    .union([z.string(), z.number()])
    .superRefine((value, ctx) => {
      const parsed = parse(value);
      if (typeof parsed === 'string' && isProblem(parsed)) {
        ctx.addIssue({ code: 'custom', message: parsed, input: value });
      }
    })
    .transform(String);
}

const tenancySchema = z.strictObject({
  cpuQuota: quantity(parseCpu).optional(),
  memoryQuota: quantity(parseMemory).optional(),
  podQuota: z.number().int().min(1).max(100000).optional(),
  defaultCpuRequest: quantity(parseCpu).optional(),
  defaultMemoryRequest: quantity(parseMemory).optional(),
  defaultMemoryLimit: quantity(parseMemory).optional(),
  functionIngressNamespaces: z.array(ruled(checkIngressNamespace)).optional(),
});

/** Schema of the platform settings document (YAML or JSON). Unknown keys are refused. */
export const platformSettingsSchema = z.strictObject({
  tenancy: tenancySchema.optional(),
  projects: z
    .record(ruled(checkProjectName), z.strictObject({ tenancy: tenancySchema.optional() }))
    .optional(),
  runtimeImages: z
    .strictObject({
      'python3.12': ruled(checkImage).optional(),
      nodejs20: ruled(checkImage).optional(),
    })
    .optional(),
});

/** The checked platform settings. */
export type PlatformSettings = z.infer<typeof platformSettingsSchema>;

/** Thrown when a settings document is invalid; carries every problem found. */
export class PlatformSettingsError extends Error {
  constructor(public readonly problems: readonly DefinitionProblem[]) {
    super(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in platform settings:\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
    this.name = 'PlatformSettingsError';
  }
}

/**
 * Checks a settings value (already parsed, e.g. from Pulumi config).
 * @param label names the source in errors, e.g. the file or `hks-platform:settings`
 * @throws PlatformSettingsError naming each field, the value given and what is expected
 */
export function parsePlatformSettings(
  value: unknown,
  label: string,
  locate: (path: readonly PropertyKey[]) => number | undefined = () => undefined,
): PlatformSettings {
  const source = { file: label, document: 1 };
  if (value === null || value === undefined) return {};
  const result = platformSettingsSchema.safeParse(value, { error: describeIssue });
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    const paths =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => [...issue.path, key])
        : [issue.path];
    const message =
      issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join('; ') : issue.message;
    return paths.map((path) => ({ source, path: formatPath(path), message, line: locate(path) }));
  });
  throw new PlatformSettingsError(problems);
}

/**
 * Reads a settings file, YAML or JSON (JSON is YAML).
 * @throws PlatformSettingsError for an unreadable file, bad YAML or a bad field
 */
export function loadPlatformSettings(file: string): PlatformSettings {
  const source = { file, document: 1 };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new PlatformSettingsError([
      { source, path: '', message: `cannot read the file (${reason})` },
    ]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PlatformSettingsError(
      doc.errors.map((error) => ({
        source,
        path: '',
        message: `YAML: ${error.message.split('\n')[0]}`,
        line: lineCounter.linePos(error.pos[0]).line,
      })),
    );
  }
  const value: unknown = doc.toJS();
  if (value !== null && (typeof value !== 'object' || Array.isArray(value))) {
    throw new PlatformSettingsError([
      {
        source,
        path: '',
        message: `given ${describeValue(value)}, expected a mapping with tenancy, projects or runtimeImages`,
      },
    ]);
  }
  return parsePlatformSettings(value, file, (path) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth) as unknown[], true) as
        { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) {
        return lineCounter.linePos(node.range[0]).line;
      }
    }
    return undefined;
  });
}

/** The tenancy of one project: the settings' defaults with the project's own overrides. */
export function tenancyForProject(
  settings: PlatformSettings,
  project: string,
): ProjectTenancyOptions {
  return { ...settings.tenancy, ...settings.projects?.[project]?.tenancy };
}

/** Chart-building options from the settings; other options (namespaces) are the caller's. */
export function chartOptionsFromSettings(
  settings: PlatformSettings,
): Pick<BuildProjectChartsOptions, 'tenancy' | 'tenancyForProject' | 'functionRuntimeImages'> {
  return {
    tenancy: settings.tenancy,
    tenancyForProject: (project) => tenancyForProject(settings, project),
    functionRuntimeImages: settings.runtimeImages,
  };
}
