/** Unit tests run alone; integration tests (`*.int.test.ts`) share one real control plane. */
const transform = { '^.+\\.ts$': ['@swc/jest'] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$'],
      transform,
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.int.test.ts'],
      transform,
      globalSetup: '<rootDir>/test/cluster/global-setup.ts',
      globalTeardown: '<rootDir>/test/cluster/global-teardown.ts',
    },
  ],
};
