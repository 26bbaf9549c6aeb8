// Two Jest projects:
//  - unit: pure code (*.spec.ts), no servers;
//  - integration: *.int-spec.ts against a real Kafka broker and PostgreSQL, started once per
//    run by the global setup (or taken from KAFKA_BROKERS / DATABASE_URL).
'use strict';
const preset = require('./jest.preset');

module.exports = {
  // Jest reads testTimeout only at the top level (not per project); integration tests start
  // processes and wait for real servers.
  testTimeout: 180000,
  projects: [
    {
      ...preset,
      displayName: 'unit',
      testMatch: ['<rootDir>/{apps,libs,tools}/**/*.spec.ts'],
    },
    {
      ...preset,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,tools,tests}/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/libs/testkit/src/jest/global-setup.ts',
      globalTeardown: '<rootDir>/libs/testkit/src/jest/global-teardown.ts',
    },
  ],
};
