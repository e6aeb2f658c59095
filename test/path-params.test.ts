import type { Request, Response } from 'express';
import { validatePathParams } from '../api/path-params';
import { Problem } from '../api/problem';

/** What the validator passes on for the given params: undefined (valid) or its problem. */
function check(path: string, params: Record<string, string>): Problem | undefined {
  let passed: unknown = 'not called';
  validatePathParams(path)({ params } as unknown as Request, {} as Response, (error?: unknown) => {
    passed = error;
  });
  if (passed !== undefined && !(passed instanceof Problem)) throw new Error(String(passed));
  return passed;
}

const EXECUTION = '/projects/:project/cronjobs/:name/executions/:id';

test('valid names and ids pass', () => {
  const id = '3f1c2b9e-8d7a-4c6b-9e5f-0a1b2c3d4e5f';
  expect(check(EXECUTION, { project: 'shop', name: 'nightly-report', id })).toBeUndefined();
  expect(check('/operations/functions/:id', { id: 'fn-0a1b2c3d4e5f' })).toBeUndefined();
  expect(check('/projects/:project', { project: 'a'.repeat(40) })).toBeUndefined();
  expect(check('/projects/:project/functions/:name', { project: 'p', name: 'f'.repeat(52) })).toBe(
    undefined,
  );
});

test.each([
  ['project', '/projects/:project', { project: 'shop/x' }, '"shop/x"'],
  ['project', '/projects/:project', { project: '..' }, '".."'],
  ['project', '/projects/:project', { project: 'Shop' }, 'a DNS-1123 label'],
  ['project', '/projects/:project', { project: 'a'.repeat(41) }, 'at most 40 characters'],
  ['name', '/projects/:project/applications/:name', { project: 'p', name: 'a'.repeat(53) }, '52'],
  ['name', '/projects/:project/cronjobs/:name', { project: 'p', name: 'a..b' }, '"a..b"'],
  ['id', EXECUTION, { project: 'p', name: 'n', id: 'ABC' }, 'expected an execution id'],
  ['id', EXECUTION, { project: 'p', name: 'n', id: 'a'.repeat(37) }, 'at most 36 characters'],
  ['id', '/operations/functions/:id', { id: '../fn' }, '"../fn"'],
])('%s in %s, given %j: 400 naming the parameter and the value', (param, path, params, message) => {
  const problem = check(path, params);
  expect(problem?.status).toBe(400);
  expect(problem?.detail).toMatch(new RegExp(`^path parameter ${param}: given `));
  expect(problem?.detail).toContain(message);
  expect(problem?.errors).toEqual([{ path: param, message: expect.stringContaining('expected') }]);
});

test('every failing parameter is named', () => {
  const problem = check(EXECUTION, { project: 'A', name: 'B', id: 'C' });
  expect(problem?.errors.map((e) => e.path)).toEqual(['project', 'name', 'id']);
});

test('a route with a parameter of no rule fails at registration', () => {
  expect(() => validatePathParams('/projects/:project/things/:thing')).toThrow(
    'no rule for path parameter :thing after "things"',
  );
});
