import { javascriptHandlerParameters, MAX_HANDLER_MODULE_BYTES } from '../api/javascript-handler';
import { ModuleKind } from '../api/javascript-check';

/** Which exports the source settles (their parameters) and which it leaves to the bootstrap. */
test.each<[string, ModuleKind, string, { required: number; line: number } | undefined]>([
  ['arrow', 'commonjs', 'exports.handler = (a, b, c) => 1;', { required: 3, line: 1 }],
  ['string key', 'commonjs', 'exports["handler"] = function (a) {};', { required: 1, line: 1 }],
  ['method', 'commonjs', '\nmodule.exports = { handler(a, b, c) {} };', { required: 3, line: 2 }],
  [
    'const',
    'commonjs',
    'const h = (a, b = 1, c) => 1;\nmodule.exports = { handler: h };',
    { required: 1, line: 1 },
  ],
  [
    'last wins',
    'commonjs',
    'function h(a, b, c) {}\nexports.handler = h;\nexports.handler = (e) => e;',
    { required: 1, line: 3 },
  ],
  [
    'conditional',
    'commonjs',
    'exports.handler = (a, b, c) => 1;\nif (x) exports.handler = (e) => e;',
    undefined,
  ],
  [
    'reassigned',
    'commonjs',
    'let h = (a, b, c) => 1;\nh = (e) => e;\nexports.handler = h;',
    undefined,
  ],
  ['factory', 'commonjs', 'exports.handler = make();', undefined],
  ['replaced', 'commonjs', 'exports.handler = (a, b, c) => 1;\nmodule.exports = other;', undefined],
  [
    'top-level return',
    'commonjs',
    'return;\nexports.handler = (a, b, c) => 1;',
    { required: 3, line: 2 },
  ],
  ['function', 'module', 'export async function handler(a, b, c) {}', { required: 3, line: 1 }],
  ['rest', 'module', 'export const handler = async (...args) => 1;', { required: 0, line: 1 }],
  [
    'specifier',
    'module',
    'const f = (a, b, c) => 1;\nexport { f as handler };',
    { required: 3, line: 1 },
  ],
  ['re-export', 'module', "export { handler } from './impl.js';", undefined],
  [
    'let reassigned',
    'module',
    'await 1;\nexport let handler = (a, b, c) => 1;\nhandler = (e) => e;',
    undefined,
  ],
  ['CommonJS names in a module', 'module', 'exports.handler = (a, b, c) => 1;', undefined],
])('%s (%s)', (_case, kind, source, expected) => {
  const parameters = javascriptHandlerParameters(source, kind, 'handler');
  expect(parameters && { required: parameters.required, line: parameters.line }).toEqual(expected);
});

test('a module over MAX_HANDLER_MODULE_BYTES is left to the bootstrap', () => {
  const handler = 'exports.handler = (a, b, c) => 1;\n';
  const filler = `// ${'x'.repeat(77)}\n`.repeat(Math.ceil(MAX_HANDLER_MODULE_BYTES / 80));
  expect(javascriptHandlerParameters(handler, 'commonjs', 'handler')).toBeDefined();
  expect(javascriptHandlerParameters(filler + handler, 'commonjs', 'handler')).toBeUndefined();
});
