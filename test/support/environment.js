/* eslint-disable @typescript-eslint/no-require-imports */
const { TestEnvironment } = require('jest-environment-node');

/**
 * Jest's node environment, plus one duty at the end of each test file, after its last afterAll: the
 * file's shared hold on the broker (test/support/broker-lock.ts) is let go there, so that a broker
 * restart in another file never comes while this file is still cleaning up its queues.
 */
class TestFileEnvironment extends TestEnvironment {
  async teardown() {
    const held = this.global.__dhBrokerShared;
    if (held) await held.release();
    await super.teardown();
  }
}

module.exports = TestFileEnvironment;
