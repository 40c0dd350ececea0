/** Three tiers: `unit` is pure logic (no I/O); `integration` talks to a real Azurite
 *  that test/support/globalSetup.ts starts on free ports before any test runs; `e2e` runs the
 *  compiled app in the local Functions host against that Azurite and talks to it over HTTP. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
module.exports = {
  // Per-project testTimeout is ignored by jest; integration tests against Azurite need more than 5 s.
  testTimeout: 120000,
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    {
      displayName: 'e2e',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
    },
  ],
};
