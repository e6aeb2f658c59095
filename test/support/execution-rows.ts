/**
 * An execution row as the store's first migrations wrote it (no reasons, attempts or later
 * columns): what a migration test inserts before migrating further, to show old rows stay
 * readable.
 */
export function earlyExecutionRow(project: string): Record<string, unknown> {
  return {
    job_uid: 'old',
    project,
    cronjob: 'nightly',
    job_name: 'nightly-old',
    namespace: `hks-${project}`,
    trigger: 'scheduled',
    status: 'failed',
    started_at: '2025-12-31T00:00:00.000Z',
    completed_at: '2025-12-31T00:00:01.000Z',
    exit_code: 3,
    logs: 'old\n',
    logs_captured: true,
    log_capture: 'captured',
    updated_at: '2025-12-31T00:00:01.000Z',
  };
}
