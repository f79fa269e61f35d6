import { startedContainers, startedRedisCluster } from './global-setup';

/** jest globalTeardown: stops the containers globalSetup started (none when the configured services answered). */
export default async function globalTeardown(): Promise<void> {
  const cluster = startedRedisCluster();
  await cluster.current?.stop();
  cluster.current = undefined;
  await Promise.all(
    startedContainers()
      .splice(0)
      .map((container) => container.stop()),
  );
}
