/**
 * Runs the reliability suites last: they restart the machine's Redis and RabbitMQ, and a suite that
 * starts right after a restart can meet a broker that is still settling. Otherwise alphabetical.
 */
class ReliabilityLastSequencer {
  sort(tests) {
    const last = (test) => (/[\\/]test[\\/]reliability[\\/]/.test(test.path) ? 1 : 0);
    return [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path));
  }

  cacheResults() {}

  shard(tests) {
    return tests;
  }
}

module.exports = ReliabilityLastSequencer;
