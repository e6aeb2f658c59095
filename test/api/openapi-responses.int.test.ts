import { ApiProcess, startApi, testStores } from './api-process';

/**
 * The SDKs' contract is the OpenAPI document: every success answer with a JSON body must say
 * what that body is, so that a model reading it can be checked against the document (the
 * Python SDK's test_openapi_contract.py does) and schemathesis can check real answers. Taken
 * from the API's own document, so a new route without a response schema fails here.
 */
let api: ApiProcess;

interface Operation {
  readonly responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

beforeAll(async () => {
  api = await startApi({ ...(await testStores()[0].env()), HKS_RECORDER: 'off' });
}, 60_000);

afterAll(async () => {
  await api?.stop();
});

/** `METHOD path status` of each JSON success answer without a schema. */
function untypedAnswers(paths: Record<string, Record<string, Operation>>): string[] {
  return Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).flatMap(([method, operation]) =>
      Object.entries(operation.responses)
        .filter(([status]) => /^2\d\d$/.test(status))
        .filter(([, answer]) => {
          const json = answer.content?.['application/json'];
          return json !== undefined && (json.schema === undefined || isEmpty(json.schema));
        })
        .map(([status]) => `${method.toUpperCase()} ${path} ${status}`),
    ),
  );
}

function isEmpty(schema: unknown): boolean {
  return typeof schema === 'object' && schema !== null && Object.keys(schema).length === 0;
}

/** Answers whose body is the document itself: its schema is OpenAPI's own. */
const SELF_DESCRIBED = ['GET /openapi.json 200'];

test('every JSON success answer of every route has a response schema', async () => {
  const doc = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, Operation>>;
  };
  expect(Object.keys(doc.paths).length).toBeGreaterThan(20);
  expect(untypedAnswers(doc.paths).filter((answer) => !SELF_DESCRIBED.includes(answer))).toEqual(
    [],
  );
});
