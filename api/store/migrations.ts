import type { Knex } from 'knex';

/** A schema change; the same code runs on SQLite and PostgreSQL through knex's schema builder. */
interface Migration {
  readonly name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

const MIGRATIONS: readonly Migration[] = [
  {
    name: '001_applications_and_executions',
    async up(db) {
      await db.schema.createTable('applications', (t) => {
        t.string('project', 63).notNullable();
        t.string('name', 63).notNullable();
        t.string('kind', 40).notNullable();
        t.integer('version').notNullable();
        t.text('definition').notNullable();
        t.string('created_at', 30).notNullable();
        t.string('updated_at', 30).notNullable();
        t.primary(['project', 'name']);
      });
      await db.schema.createTable('executions', (t) => {
        t.string('job_uid', 64).primary();
        t.string('project', 63).notNullable();
        t.string('cronjob', 63).notNullable();
        t.string('job_name', 253).notNullable();
        t.string('namespace', 63).notNullable();
        t.string('trigger', 16).notNullable();
        t.string('status', 16).notNullable();
        t.string('started_at', 30).notNullable();
        t.string('completed_at', 30);
        t.integer('exit_code');
        t.text('logs');
        t.boolean('logs_truncated').notNullable().defaultTo(false);
        t.boolean('logs_captured').notNullable().defaultTo(false);
        t.string('updated_at', 30).notNullable();
        t.index(['project', 'cronjob', 'started_at', 'job_uid'], 'executions_by_cronjob');
      });
    },
    async down(db) {
      await db.schema.dropTable('executions');
      await db.schema.dropTable('applications');
    },
  },
  {
    // The recorder's capture state (retried failures, logs lost with their pods), the Job UIDs
    // of purged histories (so their deletion events do not bring rows back) and the
    // Idempotency-Keys of manual triggers.
    name: '003_recorder_log_capture_and_trigger_keys',
    async up(db) {
      await db.schema.alterTable('executions', (t) => {
        t.string('log_capture', 16).notNullable().defaultTo('pending');
        t.text('log_capture_error');
        t.integer('log_capture_attempts').notNullable().defaultTo(0);
      });
      await db('executions').where({ logs_captured: true }).update({ log_capture: 'captured' });
      await db.schema.createTable('purged_executions', (t) => {
        t.string('job_uid', 64).primary();
        t.string('project', 63).notNullable();
        t.string('cronjob', 63).notNullable();
        t.string('purged_at', 30).notNullable();
      });
      await db.schema.createTable('trigger_keys', (t) => {
        t.string('project', 63).notNullable();
        t.string('cronjob', 63).notNullable();
        t.string('key_hash', 64).notNullable();
        t.string('job_name', 253).notNullable();
        t.string('job_uid', 64).notNullable();
        t.string('created_at', 30).notNullable();
        t.primary(['project', 'cronjob', 'key_hash']);
      });
    },
    async down(db) {
      await db.schema.dropTable('trigger_keys');
      await db.schema.dropTable('purged_executions');
      await db.schema.alterTable('executions', (t) => {
        t.dropColumn('log_capture');
        t.dropColumn('log_capture_error');
        t.dropColumn('log_capture_attempts');
      });
    },
  },
  {
    // An apply is recorded before it touches the cluster: who holds the application (a lease
    // that expires when its process dies) and the definition being applied, so that a retry or
    // a DELETE finds and cleans up what a failed or killed apply left.
    name: '004_application_apply_claims',
    async up(db) {
      await db.schema.alterTable('applications', (t) => {
        t.string('apply_owner', 64);
        t.string('apply_expires_at', 30);
        t.text('pending_definition');
        t.string('pending_since', 30);
      });
    },
    async down(db) {
      await db.schema.alterTable('applications', (t) => {
        t.dropColumn('apply_owner');
        t.dropColumn('apply_expires_at');
        t.dropColumn('pending_definition');
        t.dropColumn('pending_since');
      });
    },
  },
  {
    // Why an execution ended, as Kubernetes says it: the reason of the Job's terminal condition
    // (BackoffLimitExceeded, DeadlineExceeded...) and the container's termination reason of
    // its last attempt (OOMKilled, Error, Completed...). Rows recorded before stay without.
    name: '005_execution_reasons',
    async up(db) {
      await db.schema.alterTable('executions', (t) => {
        t.text('reason');
        t.text('termination_reason');
      });
    },
    async down(db) {
      await db.schema.alterTable('executions', (t) => {
        t.dropColumn('reason');
        t.dropColumn('termination_reason');
      });
    },
  },
  {
    // A project's executions newest first (the console's executions page), with or without a
    // status filter, read in the index's order: without these, every page sorted the whole
    // project's history.
    name: '006_execution_project_indexes',
    async up(db) {
      await db.schema.alterTable('executions', (t) => {
        t.index(['project', 'started_at', 'job_uid'], 'executions_by_project');
        t.index(['project', 'status', 'started_at', 'job_uid'], 'executions_by_project_status');
      });
    },
    async down(db) {
      await db.schema.alterTable('executions', (t) => {
        t.dropIndex(['project', 'started_at', 'job_uid'], 'executions_by_project');
        t.dropIndex(['project', 'status', 'started_at', 'job_uid'], 'executions_by_project_status');
      });
    },
  },
  {
    // How many times an execution's container was run or tried (pods and restarts in them).
    // Rows recorded before stay without: their pods are gone, the count cannot be made up.
    name: '007_execution_attempts',
    async up(db) {
      await db.schema.alterTable('executions', (t) => {
        t.integer('attempts');
      });
    },
    async down(db) {
      await db.schema.alterTable('executions', (t) => {
        t.dropColumn('attempts');
      });
    },
  },
  {
    // The audit trail of agent executions: one row per execute-once call (later per session
    // call: kind and session_id), newest first per project with or without a status filter.
    name: '008_agent_executions',
    async up(db) {
      await db.schema.createTable('agent_executions', (t) => {
        t.string('id', 36).primary();
        t.string('kind', 16).notNullable();
        t.string('session_id', 64);
        t.string('project', 63).notNullable();
        t.string('subject', 200);
        t.string('started_at', 30).notNullable();
        t.string('completed_at', 30);
        t.string('status', 16).notNullable();
        t.string('runtime', 32);
        t.string('code_sha256', 64);
        t.integer('code_bytes');
        t.integer('input_bytes');
        t.integer('output_bytes');
        t.integer('http_status');
        t.integer('duration_ms');
        t.string('error_title', 200);
        t.string('request_id', 200);
        t.string('execution_id', 64);
        t.index(['project', 'started_at', 'id'], 'agent_executions_by_project');
        t.index(['project', 'status', 'started_at', 'id'], 'agent_executions_by_project_status');
        // The age sweep of retention.
        t.index(['started_at'], 'agent_executions_by_start');
      });
    },
    async down(db) {
      await db.schema.dropTable('agent_executions');
    },
  },
  {
    // The invocation history of functions: one row per invocation the API passed on, pages
    // newest first per function (with or without a status or trigger filter) and per project,
    // and the age sweep of retention. The timer's fields (cron, scheduled_time) stay empty
    // until schedules invoke functions.
    name: '009_function_invocations',
    async up(db) {
      await db.schema.createTable('function_invocations', (t) => {
        t.string('id', 36).primary();
        t.string('project', 63).notNullable();
        t.string('function', 63).notNullable();
        t.string('revision', 253);
        t.string('tag', 63);
        t.string('trigger', 16).notNullable();
        t.string('client_request_id', 200);
        t.text('cron');
        t.string('scheduled_time', 30);
        t.string('started_at', 30).notNullable();
        t.double('duration_ms').notNullable();
        t.string('status', 16).notNullable();
        t.integer('http_status');
        t.bigInteger('request_bytes').notNullable();
        t.bigInteger('response_bytes');
        t.text('error_type');
        t.text('error_message');
        t.text('error_stack');
        t.text('logs');
        t.index(['project', 'function', 'started_at', 'id'], 'function_invocations_by_function');
        t.index(
          ['project', 'function', 'status', 'started_at', 'id'],
          'function_invocations_by_function_status',
        );
        t.index(
          ['project', 'function', 'trigger', 'started_at', 'id'],
          'function_invocations_by_function_trigger',
        );
        t.index(['project', 'started_at', 'id'], 'function_invocations_by_project');
        t.index(
          ['project', 'status', 'started_at', 'id'],
          'function_invocations_by_project_status',
        );
        t.index(['started_at'], 'function_invocations_by_start');
      });
    },
    async down(db) {
      await db.schema.dropTable('function_invocations');
    },
  },
  {
    // The durable queue of asynchronous invocations: one row per invocation, claimed by a
    // replica for a lease (lock_owner, lock_expires_at) and finished by one conditional update
    // that writes the result with the state. Due rows are found by state and next attempt time,
    // a project's depth by project and state, a function's list newest first.
    name: '010_async_invocations',
    async up(db) {
      await db.schema.createTable('async_invocations', (t) => {
        t.string('id', 36).primary();
        t.string('project', 63).notNullable();
        t.string('function', 63).notNullable();
        t.string('tag', 63);
        t.string('state', 16).notNullable();
        t.binary('body');
        t.bigInteger('request_bytes').notNullable();
        t.string('body_sha256', 64).notNullable();
        t.text('headers').notNullable();
        t.string('idempotency_key', 200);
        t.text('callback_url');
        t.integer('attempts').notNullable();
        t.integer('max_attempts').notNullable();
        t.string('next_attempt_at', 30).notNullable();
        t.string('lock_owner', 100);
        t.string('lock_expires_at', 30);
        t.string('created_at', 30).notNullable();
        t.string('updated_at', 30).notNullable();
        t.string('finished_at', 30);
        t.double('duration_ms');
        t.integer('result_status');
        t.text('result_headers');
        t.binary('result_body');
        t.bigInteger('result_bytes');
        t.text('last_error');
        t.string('callback_state', 16);
        t.integer('callback_attempts');
        t.integer('callback_status');
        t.text('callback_error');
        t.string('callback_at', 30);
        t.unique(['project', 'function', 'idempotency_key'], {
          indexName: 'async_invocations_idempotency',
        });
        t.index(['state', 'next_attempt_at'], 'async_invocations_due');
        t.index(['project', 'state'], 'async_invocations_by_project_state');
        t.index(['project', 'function', 'created_at', 'id'], 'async_invocations_by_function');
      });
    },
    async down(db) {
      await db.schema.dropTable('async_invocations');
    },
  },
  {
    // The runs of functions' schedules: one row per scheduled time of a schedule, inserted
    // before the function is called, so that of two replicas that both see a run due only the
    // one whose insert lands calls it (the primary key), and a run whose replica died is found
    // (status running past deadline_at) and closed, never called again.
    name: '011_function_schedules',
    async up(db) {
      await db.schema.createTable('function_schedule_runs', (t) => {
        t.string('project', 63).notNullable();
        t.string('function', 63).notNullable();
        t.string('schedule', 63).notNullable();
        t.string('scheduled_time', 30).notNullable();
        t.string('trigger', 16).notNullable();
        t.string('status', 16).notNullable();
        t.text('cron').notNullable();
        t.string('time_zone', 64).notNullable();
        t.string('invocation_id', 36);
        t.string('claimed_by', 200);
        t.string('claimed_at', 30).notNullable();
        t.string('deadline_at', 30);
        t.string('ended_at', 30);
        t.integer('http_status');
        t.text('reason');
        t.text('output');
        t.boolean('output_truncated');
        t.primary(['project', 'function', 'schedule', 'scheduled_time']);
        t.index(['status', 'deadline_at'], 'function_schedule_runs_by_status');
      });
    },
    async down(db) {
      await db.schema.dropTable('function_schedule_runs');
    },
  },
  {
    // A CronJob's page filtered by status (the console's and `hks-func cron history --status`)
    // walked executions_by_cronjob and filtered: 22 ms at 640k rows on SQLite, growing with the
    // history (npm run bench:growth); with this index it reads only the page.
    name: '012_execution_cronjob_status_index',
    async up(db) {
      await db.schema.alterTable('executions', (t) => {
        t.index(
          ['project', 'cronjob', 'status', 'started_at', 'job_uid'],
          'executions_by_cronjob_status',
        );
      });
    },
    async down(db) {
      await db.schema.alterTable('executions', (t) => {
        t.dropIndex([], 'executions_by_cronjob_status');
      });
    },
  },
  {
    // Retention removes finished asynchronous invocations by their end (api/retention.ts).
    name: '013_async_invocations_finish_index',
    async up(db) {
      await db.schema.alterTable('async_invocations', (t) => {
        t.index(['finished_at'], 'async_invocations_by_finish');
      });
    },
    async down(db) {
      await db.schema.alterTable('async_invocations', (t) => {
        t.dropIndex([], 'async_invocations_by_finish');
      });
    },
  },
  {
    // Agent sessions shared by every API replica (api/agent-sessions.ts): one row per session
    // with its secret until it ends, the execution lease and why it ended. Live sessions idle
    // past their expiry are found by end and expiry; retention walks the same index by end and
    // a project's ended ones by project.
    name: '014_agent_sessions',
    async up(db) {
      await db.schema.createTable('agent_sessions', (t) => {
        t.string('id', 64).primary();
        t.string('project', 63).notNullable();
        t.string('namespace', 63).notNullable();
        t.string('runtime', 32).notNullable();
        t.string('created_by', 200);
        t.string('secret', 64);
        t.integer('idle_timeout_seconds').notNullable();
        t.integer('timeout_seconds').notNullable();
        t.string('created_at', 30).notNullable();
        t.string('last_used_at', 30).notNullable();
        t.string('expires_at', 30).notNullable();
        t.integer('executions').notNullable().defaultTo(0);
        t.string('running_owner', 100);
        t.string('running_until', 30);
        t.string('ended_at', 30);
        t.text('ended_reason');
        t.index(['ended_at', 'expires_at'], 'agent_sessions_by_end');
        t.index(['project', 'ended_at', 'id'], 'agent_sessions_by_project');
      });
    },
    async down(db) {
      await db.schema.dropTable('agent_sessions');
    },
  },
  {
    // What usage and cost need, taken when the call or the run is recorded (a later apply may
    // change the resources): the requested CPU and memory of the function's or the Job's
    // container, and a function instance's cold-start time apart from the call's duration.
    name: '015_usage_columns',
    async up(db) {
      await db.schema.alterTable('function_invocations', (t) => {
        t.integer('cpu_millis');
        t.bigInteger('memory_bytes');
        t.double('init_ms');
      });
      await db.schema.alterTable('executions', (t) => {
        t.integer('cpu_millis');
        t.bigInteger('memory_bytes');
      });
    },
    async down(db) {
      await db.schema.alterTable('function_invocations', (t) => {
        t.dropColumn('cpu_millis');
        t.dropColumn('memory_bytes');
        t.dropColumn('init_ms');
      });
      await db.schema.alterTable('executions', (t) => {
        t.dropColumn('cpu_millis');
        t.dropColumn('memory_bytes');
      });
    },
  },
];

/**
 * knex migration source over the list above (no files to find at run time).
 * @param upTo the last migration to include (tests of an upgrade) @default - all of them
 */
export function migrationsUpTo(upTo?: string): Knex.MigrationSource<Migration> {
  const end =
    upTo === undefined ? MIGRATIONS.length : MIGRATIONS.findIndex((m) => m.name === upTo) + 1;
  if (end === 0)
    throw new Error(
      `given ${JSON.stringify(upTo)}, expected one of ${MIGRATIONS.map((m) => m.name).join(', ')}`,
    );
  return {
    getMigrations: async () => MIGRATIONS.slice(0, end),
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => ({
      up: (db) => migration.up(db),
      down: (db) => migration.down(db),
    }),
  };
}

/** knex migration source of every migration. */
export const migrationSource = migrationsUpTo();
