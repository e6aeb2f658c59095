import { DefinitionKind } from '../../constructs';

/**
 * Definition fields that the platform reads itself and that need not show in the synthesized
 * manifests, each with why. Every other field must show (test/no-field-dropped.test.ts); the
 * "Fields the platform only reads" table of docs/definitions.md lists the same fields.
 */
export const PLATFORM_ONLY_FIELDS: Readonly<Record<`${DefinitionKind} ${string}`, string>> = {
  'StatelessApplication apiVersion': 'selects the version of the schema the document is read with',
  'StatelessApplication kind': 'selects the schema and the construct that builds the document',
  'CronJob apiVersion': 'selects the version of the schema the document is read with',
  'CronJob kind': 'selects the schema and the construct that builds the document',
  'CronJob spec.template':
    'names a StatelessApplication of the project whose container settings are copied; the copied settings show, the name does not',
  'Function apiVersion': 'selects the version of the schema the document is read with',
  'Function kind': 'selects the schema and the construct that builds the document',
  'Function spec.source':
    'a path read into spec.files when the definition file is loaded; the files show, the path does not',
  ...Object.fromEntries(
    ['subject', 'stream', 'durable', 'maxDeliver', 'backoffSeconds[]', 'deadLetterSubject'].map(
      (key) => [
        `Function spec.triggers[].nats.${key}`,
        "read by the API from the definition it applied: it runs the trigger's NATS consumer (docs/event-triggers.md)",
      ],
    ),
  ),
};
