/** Unit tests (test/unit) need nothing; integration and e2e tests (test/e2e) need the real
 * PostgreSQL and RabbitMQ given by DATABASE_URL / AMQP_URL (defaults: the local servers). */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: 'test/.*\\.(spec|e2e-spec)\\.ts$',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
  testTimeout: 60000,
};
