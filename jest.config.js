/** One jest run for the whole workspace; workspace packages resolve to their TypeScript sources. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages', '<rootDir>/services', '<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/cluster needs the local Redis Cluster: `npm run test:cluster` (TEST_REDIS_CLUSTER=1) runs it.
  testPathIgnorePatterns: [
    '/node_modules/',
    '/dist/',
    ...(process.env.TEST_REDIS_CLUSTER === '1' ? [] : ['/test/cluster/']),
  ],
  testSequencer: '<rootDir>/test/sequencer.js',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }] },
  moduleNameMapper: {
    '^@zephyr/(contracts|runtime|testing)$': '<rootDir>/packages/$1/src',
    // Subpath exports (`@zephyr/runtime/errors`) map to the module of the same name, as package.json "exports" does.
    '^@zephyr/(contracts|runtime|testing)/(.+)$': '<rootDir>/packages/$1/src/$2',
  },
  testTimeout: 60_000,
  // PostgreSQL/Redis/RabbitMQ: the configured ones when they answer, else containers when Docker is present.
  globalSetup: '<rootDir>/packages/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/packages/testing/src/global-teardown.ts',
};
