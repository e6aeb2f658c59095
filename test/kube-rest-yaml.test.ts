import { parse } from 'yaml';
import { yamlSafeJson } from '../api/kube-rest';

test('apply patches are JSON and YAML at once, C1 controls and DEL escaped', () => {
  const value = { command: ['a\u0085b\u0099c\u007f', '\uffff', 'plain é ✓'] };
  const text = yamlSafeJson(value);
  expect(text).not.toMatch(/[\u007f-\u009f\ufffe\uffff]/);
  expect(JSON.parse(text)).toEqual(value);
  expect(parse(text)).toEqual(value);
});
