import { randomBytes } from 'node:crypto';
import { API_VERSION } from '../../constructs';
import { waitFor } from '../cluster/wait';
import { cronJobDoc, statelessDoc } from '../support/definitions';
import { StandInProcess, startStandIn } from '../support/knative-stand-in';
import {
  Dictionary,
  runSchemathesis,
  schemathesisCommand,
  SchemathesisFigures,
  SCHEMATHESIS_VERSION,
} from '../support/schemathesis';
import {
  ApiProcess,
  internalToken,
  projectRequest,
  startApi,
  testStores,
  token,
} from './api-process';

jest.setTimeout(240_000);

/**
 * Property-based run of the API's own OpenAPI document: schemathesis generates cases for every
 * operation (valid and invalid inputs) and checks that none is a 5xx and that every response
 * has a status and a body the document lists. User routes run with a user token, internal
 * routes with an internal one, both for a project seeded with one object of each kind so that
 * generated names reach real objects and not only 404s.
 */
const project = 'oaprops';
const prefix = `p${randomBytes(2).toString('hex')}-`;
const command = schemathesisCommand();
let api: ApiProcess;
let standIn: StandInProcess;
let executionId = '';

/**
 * Checks that apply to every operation. Not run: `negative_data_rejection` and
 * `positive_data_acceptance`, since the document's schemas are looser than the API's rules on
 * purpose (schedules, time zones, images, reserved names are checked by code, not by JSON
 * Schema), and the stateful checks, since the document has no links.
 */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
];

/** Bounds of each run: cases per operation, a fixed seed, wall clock. */
const MAX_EXAMPLES = 25;
const SEED = 11;

const greet = {
  apiVersion: API_VERSION,
  kind: 'Function',
  metadata: { name: 'greet', project },
  spec: {
    runtime: 'python3.12',
    // Whatever it is sent, it answers 200: a 5xx of the function would be its own, not the API's.
    code: 'def handler(event, context):\n    return {"ok": True}\n',
  },
};

async function seed(headers: Record<string, string>): Promise<void> {
  const request = (method: string, path: string, body?: unknown) =>
    projectRequest(api, project, headers, method, path, body);
  for (const doc of [statelessDoc('web', {}, project), cronJobDoc('nightly', {}, project), greet]) {
    const res = await request('POST', '/applications', doc);
    if (res.status !== 201) throw new Error(`seeding ${doc.metadata.name}: ${res.text}`);
  }
  const trigger = await request('POST', '/cronjobs/nightly/trigger');
  if (trigger.status !== 201) throw new Error(`triggering nightly: ${trigger.text}`);
  executionId = String(trigger.json.id);
  await waitFor('the manual run recorded', 30_000, async () => {
    const res = await request('GET', `/cronjobs/nightly/executions/${executionId}`);
    return res.status === 200;
  });
  await waitFor('greet ready', 60_000, async () => {
    const res = await request('GET', '/functions/greet');
    return res.status === 200 && res.json.ready === true;
  });
}

function summary(run: string, figures: SchemathesisFigures): string {
  const { operations, cases, failures, errors } = figures;
  return `schemathesis ${run}: ${operations.tested}/${operations.selected} operations tested (${operations.skipped} skipped), ${cases} cases, ${failures} failures, ${errors} errors`;
}

async function check(
  run: string,
  includePath: string,
  bearer: string,
  dictionaries: readonly Dictionary[],
): Promise<void> {
  if (!command) throw new Error('unreachable: no schemathesis');
  const figures = await runSchemathesis(command, {
    schemaUrl: `${api.url}/openapi.json`,
    includePath,
    headers: { authorization: `Bearer ${bearer}` },
    checks: CHECKS,
    maxExamples: MAX_EXAMPLES,
    seed: SEED,
    // Every case is about the seeded project; other projects are the auth tests' business.
    fixed: {
      'path.project': project,
      // A follow stream lasts as long as the pods: no response to check within a timeout.
      'query.follow': 'false',
    },
    dictionaries,
    timeoutMs: 180_000,
    requestTimeoutSeconds: 20,
  });
  process.stderr.write(`${summary(run, figures)}\n`);
  if (figures.failures > 0 || figures.errors > 0 || figures.exitCode !== 0)
    throw new Error(
      `${summary(run, figures)}\n${figures.output}\n--- API output:\n${api.output().slice(-4000)}`,
    );
  expect(figures.operations.tested).toBeGreaterThan(0);
}

const missing = `schemathesis is not installed: python3 -m pip install 'schemathesis==${SCHEMATHESIS_VERSION}' (or set HKS_SCHEMATHESIS to its command)`;
if (!command && process.env.CI) throw new Error(missing);
if (!command) process.stderr.write(`SKIPPED openapi-properties: ${missing}\n`);
const suite = command ? describe : describe.skip;

suite('the OpenAPI document, property-tested against the real API', () => {
  beforeAll(async () => {
    standIn = await startStandIn(prefix);
    api = await startApi({
      ...(await testStores()[0].env()),
      HKS_NAMESPACE_PREFIX: prefix,
      HKS_READY_TIMEOUT_SECONDS: '30',
    });
    await seed({
      authorization: `Bearer ${await token([project])}`,
      'content-type': 'application/json',
    });
  }, 150_000);

  afterAll(async () => {
    await api?.stop();
    await standIn?.stop();
  });

  test('user routes (/api/v1) and the probes, with a user token', async () => {
    await check(
      'user',
      '^/(api/v1/|healthz|readyz|metrics|openapi\\.json)',
      await token([project], undefined, '10m'),
      [
        { parameter: 'path.name', values: ['web', 'nightly', 'greet'], probability: 0.8 },
        { parameter: 'path.id', values: [executionId], probability: 0.7 },
        // The definition schema leaves names, images and schedules to code: without valid
        // ones nearly every generated definition is a 400 and none reaches Kubernetes.
        { parameter: 'body.metadata.project', values: [project], probability: 0.9 },
        {
          parameter: 'body.metadata.name',
          values: ['web', 'nightly', 'scratch'],
          probability: 0.8,
        },
        { parameter: 'body.spec.image', values: ['ghcr.io/acme/api:1.0.0'], probability: 0.8 },
        { parameter: 'body.spec.schedule', values: ['0 3 * * *', '@daily'], probability: 0.8 },
      ],
    );
  });

  test('internal routes (/internal/v1), with an internal token', async () => {
    // Temporary functions' ids are unknown until deployed: generated ones reach the 404s.
    await check('internal', '^/internal/v1/', await internalToken([project], '5m'), [
      { parameter: 'body.project', values: [project], probability: 0.7 },
    ]);
  });
});
