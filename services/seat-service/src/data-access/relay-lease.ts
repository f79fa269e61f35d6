import type { RedisClient } from '@zephyr/runtime';

/** Takes the lease when free or renews it when ours; 1 when we hold it afterwards. */
const TAKE_OR_RENEW = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/** Gives the lease back only if it is still ours (a get-then-delete could drop the next holder's). */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface Lease {
  /** True while this holder's lease has at least `marginMs` left by the local clock. */
  held(marginMs?: number): boolean;
  /** Takes or renews the lease; returns whether we hold it and whether we just took it over. */
  renew(): Promise<{ held: boolean; takenOver: boolean }>;
  release(): Promise<void>;
}

/** A leader lease on one Redis key (one slot, so it also works on Redis Cluster). */
export function createLease(redis: RedisClient, key: string, holder: string, ttlMs: number): Lease {
  redis.defineCommand('zephyrLeaseTake', { numberOfKeys: 1, lua: TAKE_OR_RENEW });
  redis.defineCommand('zephyrLeaseRelease', { numberOfKeys: 1, lua: RELEASE });
  const commands = redis as unknown as {
    zephyrLeaseTake(key: string, holder: string, ttlMs: number): Promise<number>;
    zephyrLeaseRelease(key: string, holder: string): Promise<number>;
  };
  let until = 0;
  return {
    held: (marginMs = 0) => until - marginMs > Date.now(),
    async renew() {
      const startedAt = Date.now();
      const wasHeld = until > startedAt;
      const got = (await commands.zephyrLeaseTake(key, holder, ttlMs)) === 1;
      // Counted from before the call: the lease cannot end later than that on Redis' side.
      until = got ? startedAt + ttlMs : 0;
      return { held: got, takenOver: got && !wasHeld };
    },
    async release() {
      if (until === 0) return;
      until = 0;
      await commands.zephyrLeaseRelease(key, holder).catch(() => undefined);
    },
  };
}
