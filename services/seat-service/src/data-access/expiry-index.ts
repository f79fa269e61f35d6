import type { ClaimedHold, ExpiryClaim, ExpiryCounts, ExpirySettlement } from '@zephyr/contracts';
import type { RedisClient } from '@zephyr/runtime';
import { holdKey, parseHoldKey, type ScheduleChange } from '../domain/expiry-schedule';

/**
 * The expiry schedule: the seat-service's own Redis keys (the client's keyPrefix isolates deployments and
 * tests), named as when the expiry worker kept them so an upgrade finds its entries. The `{index}` hash tag
 * puts all three in one Redis Cluster slot: the claim script and the settle transaction use them together.
 */
export const IndexKeys = {
  /** member holdKey, score expiresAt (ms): holds waiting for their expiry. */
  due: 'expiry:{index}:due',
  /** member holdKey, score lease end (ms): holds a replica is expiring right now. */
  inflight: 'expiry:{index}:inflight',
  /** holdKey → the expiresAt it had in `due`, kept while in flight (for the lag metric). */
  inflightDueAt: 'expiry:{index}:inflight-due-at',
} as const;

const INDEX_KEYS = [IndexKeys.due, IndexKeys.inflight, IndexKeys.inflightDueAt] as const;

/**
 * Moves up to ARGV[1] claimable members to `inflight` with a lease of ARGV[2] ms, atomically, so replicas
 * never claim the same member. Leases that ran out (a crashed or stalled replica) are taken over first;
 * a due copy of a member another replica holds a live lease on is dropped (that replica settles it).
 * Time comes from Redis so every replica uses the same clock.
 * Returns {now, nextDue, nextLeaseEnd, {member, dueAt, member, dueAt, ...}} ('' when unknown).
 */
const CLAIM_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local leaseEnd = now + tonumber(ARGV[2])
local out = {}
local claimed = 0
local stale = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
for _, member in ipairs(stale) do
  redis.call('ZADD', KEYS[2], leaseEnd, member)
  out[#out + 1] = member
  out[#out + 1] = redis.call('HGET', KEYS[3], member) or ''
  claimed = claimed + 1
end
if claimed < limit then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit - claimed)
  for i = 1, #due, 2 do
    local member, dueAt = due[i], due[i + 1]
    redis.call('ZREM', KEYS[1], member)
    local lease = redis.call('ZSCORE', KEYS[2], member)
    if not lease or tonumber(lease) <= now then
      redis.call('ZADD', KEYS[2], leaseEnd, member)
      redis.call('HSET', KEYS[3], member, dueAt)
      out[#out + 1] = member
      out[#out + 1] = dueAt
    end
  end
end
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local nextLease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {tostring(now), nextDue[2] or '', nextLease[2] or '', out}
`;

type ClaimReply = [string, string, string, string[]];

type ExpiryRedis = RedisClient & {
  claimExpiries(due: string, inflight: string, dueAt: string, limit: number, leaseMs: number): Promise<ClaimReply>;
};

export interface ExpiryIndex {
  /** Leases up to `limit` due entries to the caller for `leaseMs`, atomically across replicas. */
  claimDue(limit: number, leaseMs: number): Promise<ExpiryClaim>;
  settle(settlement: ExpirySettlement): Promise<void>;
  /** Applies a batch of schedule changes in order; rejects if any command failed. */
  apply(changes: readonly ScheduleChange[]): Promise<void>;
  counts(): Promise<ExpiryCounts>;
}

const optionalNumber = (text: string): number | undefined => (text === '' ? undefined : Number(text));

function execOrThrow(results: [Error | null, unknown][] | null): void {
  if (!results) throw new Error('Redis transaction aborted');
  const failed = results.find(([err]) => err);
  if (failed?.[0]) throw failed[0];
}

export function createExpiryIndex(redis: RedisClient): ExpiryIndex {
  const client = redis as ExpiryRedis;
  if (typeof client.claimExpiries !== 'function') {
    redis.defineCommand('claimExpiries', { numberOfKeys: INDEX_KEYS.length, lua: CLAIM_SCRIPT });
  }

  return {
    async claimDue(limit, leaseMs): Promise<ExpiryClaim> {
      const [now, nextDue, nextLeaseEnd, flat] = await client.claimExpiries(...INDEX_KEYS, limit, leaseMs);
      const holds: ClaimedHold[] = [];
      const malformed: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const member = flat[i]!;
        const hold = parseHoldKey(member);
        if (hold) holds.push({ ...hold, dueAtMs: optionalNumber(flat[i + 1]!) });
        else malformed.push(member);
      }
      // Nothing can ever settle an entry we cannot read; drop it instead of re-leasing it forever.
      if (malformed.length > 0) {
        execOrThrow(
          await redis
            .multi()
            .zrem(IndexKeys.inflight, ...malformed)
            .hdel(IndexKeys.inflightDueAt, ...malformed)
            .exec(),
        );
      }
      const candidates = [optionalNumber(nextDue), optionalNumber(nextLeaseEnd)].filter(
        (n): n is number => n !== undefined,
      );
      return { holds, nowMs: Number(now), nextAtMs: candidates.length > 0 ? Math.min(...candidates) : undefined };
    },

    async settle({ done, rescheduled }) {
      if (done.length === 0 && rescheduled.length === 0) return;
      const finished = [...done, ...rescheduled.map((r) => r.hold)].map(holdKey);
      const tx = redis.multi();
      if (rescheduled.length > 0) tx.zadd(IndexKeys.due, ...rescheduled.flatMap((r) => [r.dueAtMs, holdKey(r.hold)]));
      tx.zrem(IndexKeys.inflight, ...finished).hdel(IndexKeys.inflightDueAt, ...finished);
      execOrThrow(await tx.exec());
    },

    async apply(changes) {
      // Runs of one kind become one command each (a relay turn in an on-sale is mostly holds: one ZADD);
      // the runs keep their order, and within a ZADD a later score for the same member wins.
      const pipeline = redis.pipeline();
      let commands = 0;
      let run: { kind: 'schedule' | 'unschedule'; args: (string | number)[] } | undefined;
      const flush = () => {
        if (!run || run.args.length === 0) return;
        if (run.kind === 'schedule') pipeline.zadd(IndexKeys.due, ...run.args);
        else {
          const members = run.args as string[];
          pipeline.zrem(IndexKeys.due, ...members).zrem(IndexKeys.inflight, ...members);
          pipeline.hdel(IndexKeys.inflightDueAt, ...members);
        }
        commands += 1;
      };
      for (const change of changes) {
        if (change.kind === 'ignore') continue;
        if (run?.kind !== change.kind) {
          flush();
          run = { kind: change.kind, args: [] };
        }
        if (change.kind === 'schedule') run.args.push(change.dueAtMs, holdKey(change.hold));
        else run.args.push(holdKey(change.hold));
      }
      flush();
      if (commands > 0) execOrThrow(await pipeline.exec());
    },

    async counts() {
      const [due, dueCount, inflightCount] = await Promise.all([
        redis.zcount(IndexKeys.due, '-inf', Date.now()),
        redis.zcard(IndexKeys.due),
        redis.zcard(IndexKeys.inflight),
      ]);
      return { backlog: due + inflightCount, scheduled: dueCount + inflightCount };
    },
  };
}
