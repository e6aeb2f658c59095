import { ProjectNamespaces } from '../constructs';

describe('ProjectNamespaces: namespace = prefix + project', () => {
  test('maps a project to its namespace, with and without a prefix', () => {
    expect(new ProjectNamespaces().of('shop')).toBe('shop');
    expect(new ProjectNamespaces('team-').of('shop')).toBe('team-shop');
  });

  test("tells this installation's project namespaces from another installation's", () => {
    const ours = new ProjectNamespaces('a-');
    expect(ours.isOf('a-shop', 'shop')).toBe(true);
    expect(ours.isOf('b-shop', 'shop')).toBe(false);
    expect(ours.isOf('shop', 'shop')).toBe(false);
    expect(ours.isOf(undefined, 'shop')).toBe(false);
    expect(ours.isOf('a-shop', undefined)).toBe(false);
    expect(ours.mayHoldProject('a-shop')).toBe(true);
    expect(ours.mayHoldProject('b-shop')).toBe(false);
    expect(new ProjectNamespaces().mayHoldProject('anything')).toBe(true);
  });

  test('names the problem of a namespace that cannot be', () => {
    const longest = new ProjectNamespaces('p'.repeat(23));
    expect(longest.problemOf('q'.repeat(40))).toBeUndefined();
    expect(longest.problemOf('q'.repeat(41))).toMatch(/at most 63 characters/);
    expect(new ProjectNamespaces().problemOf('kube-system')).toMatch(/reserved/);
  });

  test('refuses a prefix that is not one, naming it', () => {
    expect(() => new ProjectNamespaces('Team_')).toThrow(
      /^namespace prefix: given "Team_", expected lower-case letters, digits and '-'/,
    );
    expect(() => new ProjectNamespaces('kube-')).toThrow(/namespace prefix: .*reserved/);
    expect(() => new ProjectNamespaces('p'.repeat(24))).toThrow(/at most 23 characters/);
  });
});
