/**
 * Backing services come from env (CI and this machine run them on loopback; the jest global setup exports
 * container URLs here when it had to start them).
 */
export const BACKING = {
  postgresAdminUrl: process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  /** Set (by globalSetup when TEST_REDIS_CLUSTER=1, or by hand) to run against a Redis Cluster instead. */
  get redisClusterNodes(): string | undefined {
    return process.env.REDIS_CLUSTER_NODES || undefined;
  },
  amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
};

/**
 * How many rounds a race test repeats. Rounds hunt for rare interleavings of the seat scripts and locks, and
 * those are the same code on Redis Cluster (one event's keys share a slot, so one shard runs each script
 * whole, as a single node does). `npm test` repeats them on one node; the cluster run, there to prove the
 * cluster wiring (slots, client, two replicas of each service), runs fewer of the same rounds.
 */
export function raceRounds(rounds: { singleNode: number; cluster: number }): number {
  return BACKING.redisClusterNodes === undefined ? rounds.singleNode : rounds.cluster;
}
