/**
 * Jest runs the CommonJS TypeScript project through @swc/jest. Agenda 6 and @agendajs/* are ESM-only:
 * Jest's own module loader cannot `require()` ESM (Node >= 20.19 can, and does at run time), so swc also
 * transforms those two packages to CommonJS inside the tests.
 * @type {import('jest').Config}
 */
const swc = [
  '@swc/jest',
  {
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(agenda|@agendajs|@seriousme)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  // An API answer its route does not document fails the test that caused it.
  setupFilesAfterEnv: ['<rootDir>/test/helpers/undocumented-answers.ts'],
  testTimeout: 30_000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};
