/** Unit tests (test/unit) need nothing; integration and e2e tests (test/e2e) need the real
 * PostgreSQL and RabbitMQ given by DATABASE_URL / AMQP_URL (defaults: the local servers).
 * Test files may run in parallel (`npm test` runs two workers): each has its own database, exchange,
 * queues and ports; the one thing they share that a test disturbs, the broker (restarted by
 * test/e2e/faults), is kept apart by test/support/broker-lock.ts, whose hold test/support/environment.js
 * lets go at the end of each file. */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: 'test/.*\\.(spec|e2e-spec)\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testEnvironment: '<rootDir>/test/support/environment.js',
  testTimeout: 60000,
};
