import {
  bootstrapRecord,
  invocationRecord,
  splitLogTail,
  userLines,
} from '../runtimes/log-records';

/** The bootstraps' log contract as the API and the SDK read it. */

const record = (fields: Record<string, unknown>) =>
  JSON.stringify({ function: 'fn', level: 'info', ...fields });
const logs = [
  record({ message: 'listening', port: 8080 }),
  'printed by the handler',
  record({ message: 'logged by the handler', requestId: 'a', answer: 42 }),
  record({ message: 'invocation', requestId: 'a', status: 200, durationMs: 3 }),
  '{"not": "a record"}',
  record({ message: 'invocation', requestId: 'b', status: 500, error: { stack: 'Boom' } }),
  record({ message: 'stopped' }),
].join('\n');

test('bootstrap records are the lifecycle and invocation lines, not the handler logger lines', () => {
  expect(bootstrapRecord(record({ message: 'listening' }))).toMatchObject({ message: 'listening' });
  expect(bootstrapRecord(record({ message: 'logged by the handler' }))).toBeUndefined();
  expect(bootstrapRecord('{"message": "invocation"}')).toBeUndefined(); // no function
  expect(bootstrapRecord('{broken')).toBeUndefined();
  expect(bootstrapRecord('null')).toBeUndefined();
});

test('userLines keeps what the code wrote, its logger lines included', () => {
  expect(userLines(logs).split('\n')).toEqual([
    'printed by the handler',
    record({ message: 'logged by the handler', requestId: 'a', answer: 42 }),
    '{"not": "a record"}',
  ]);
});

test('invocationRecord finds the record of a request id', () => {
  expect(invocationRecord(logs, 'a')).toMatchObject({ status: 200, durationMs: 3 });
  expect(invocationRecord(logs, 'b')).toMatchObject({ status: 500, error: { stack: 'Boom' } });
  expect(invocationRecord(logs, 'c')).toBeUndefined();
  expect(invocationRecord('just text', 'a')).toBeUndefined();
});

test('splitLogTail takes out only the last line, and only when it is the invocation record', () => {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const last = record({ message: 'invocation', requestId: 'a', status: 200 });
  const lookalike = record({ message: 'invocation', requestId: 'a' }); // logged by the code
  expect(splitLogTail(b64(`one\n${lookalike}\ntwo\n${last}\n`))).toEqual({
    output: `one\n${lookalike}\ntwo\n`,
    record: JSON.parse(last),
  });
  expect(splitLogTail(b64(`${last}\n`))).toEqual({ output: '', record: JSON.parse(last) });
  expect(splitLogTail(b64('no record\n'))).toEqual({ output: 'no record\n' });
  // base64 of UTF-8: any text survives.
  expect(splitLogTail(b64(`héllo ✓\n${last}\n`)).output).toBe('héllo ✓\n');
  expect(splitLogTail(b64(''))).toEqual({ output: '' });
});
