/** Label keys the platform puts on every object it produces. */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  managedBy: 'app.kubernetes.io/managed-by',
  project: 'hks.hexabase.io/project',
  app: 'hks.hexabase.io/app',
  kind: 'hks.hexabase.io/kind',
} as const;

/** The value of `app.kubernetes.io/managed-by`. */
export const MANAGER = 'hks';

/** Labels of an application's objects and pods: the user's, then the platform's. */
export function applicationLabels(
  project: string,
  app: string,
  kind: string,
  userLabels: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    ...userLabels,
    [LABELS.name]: app,
    [LABELS.managedBy]: MANAGER,
    [LABELS.project]: project,
    [LABELS.app]: app,
    [LABELS.kind]: kind,
  };
}

/** Labels that select exactly one application's pods. */
export function applicationSelector(project: string, app: string): Record<string, string> {
  return { [LABELS.project]: project, [LABELS.app]: app };
}
