/**
 * Unit tests run alone; integration tests (`*.int.test.ts`) share one real control plane, several
 * suites at a time (test/support/integration-runner.ts).
 */
const transform = { '^.+\\.ts$': ['@swc/jest'] };
// Only test/ holds tests; elsewhere (e.g. etcd's *.snap files under .hks/) is not jest's.
const roots = ['<rootDir>/test'];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      roots,
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$'],
      transform,
    },
    {
      displayName: 'integration',
      roots,
      testMatch: ['<rootDir>/test/**/*.int.test.ts'],
      transform,
      globalSetup: '<rootDir>/test/cluster/global-setup.ts',
      globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
      // Side by side where the suites only wait on the cluster; see the runner for the lanes.
      runner: '<rootDir>/test/support/integration-runner.ts',
      // Three suites share two cores: jest's 5 s default failed auth.int under load.
      testTimeout: 30_000,
    },
  ],
};
