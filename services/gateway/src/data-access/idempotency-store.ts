import { createHash, randomUUID } from 'node:crypto';
import type { RedisClient } from '@zephyr/runtime';
import type { Completed, IdempotencyRecord, IdempotencyScope, InFlight } from '../domain/idempotency';

const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

/**
 * One Redis key per scope. The parts are JSON-encoded before hashing so no choice of key or path can
 * collide with another scope's; the hash sits in a hash tag so the single key maps to one Cluster slot
 * whatever the prefix in front of it.
 */
export function scopeKey(scope: IdempotencyScope): string {
  const caller = 'userId' in scope.caller ? `user:${scope.caller.userId}` : `ip:${scope.caller.ip}`;
  return `gateway:idem:{${sha256(JSON.stringify([caller, scope.method, scope.path, scope.key]))}}`;
}

/** Claims the key with an expiring in-flight marker, or returns what the key already holds. */
const CLAIM_SCRIPT = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])`;

/** Replaces our own marker by the kept answer; a marker that expired or is someone else's is left alone. */
const COMPLETE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

/** Deletes our own marker so a retry runs again. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

type IdempotencyRedis = RedisClient & {
  idemClaim(key: string, marker: string, ttlMs: number): Promise<string | null>;
  idemComplete(key: string, marker: string, record: string, ttlSeconds: number): Promise<number>;
  idemRelease(key: string, marker: string): Promise<number>;
};

/** The claim a first request holds until it completes or releases it. */
export interface Claim {
  key: string;
  marker: string;
  bodyHash: string;
}

export type ClaimResult = { claimed: Claim } | { existing: IdempotencyRecord };

export interface IdempotencyStore {
  /** Atomically claims `key` for `bodyHash` for `markerTtlMs`, unless it already holds a record. */
  claim(key: string, bodyHash: string, markerTtlMs: number): Promise<ClaimResult>;
  /** Keeps the answer for `ttlSeconds` in place of the marker; false when the marker was no longer ours. */
  complete(claim: Claim, answer: Completed, ttlSeconds: number): Promise<boolean>;
  release(claim: Claim): Promise<void>;
}

function parseRecord(text: string): IdempotencyRecord {
  const record = JSON.parse(text) as IdempotencyRecord;
  if (record.state !== 'in-flight' && record.state !== 'completed') throw new Error('unreadable idempotency record');
  return record;
}

/** Records live under the service's REDIS_KEY_PREFIX (the client's keyPrefix), one string key per scope. */
export function createIdempotencyStore(redis: RedisClient): IdempotencyStore {
  const client = redis as IdempotencyRedis;
  if (typeof client.idemClaim !== 'function') {
    redis.defineCommand('idemClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    redis.defineCommand('idemComplete', { numberOfKeys: 1, lua: COMPLETE_SCRIPT });
    redis.defineCommand('idemRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
  }
  return {
    async claim(key, bodyHash, markerTtlMs) {
      const inFlight: InFlight = { state: 'in-flight', bodyHash, claim: randomUUID() };
      const marker = JSON.stringify(inFlight);
      const existing = await client.idemClaim(key, marker, markerTtlMs);
      return existing === null ? { claimed: { key, marker, bodyHash } } : { existing: parseRecord(existing) };
    },
    async complete(claim, answer, ttlSeconds) {
      return (await client.idemComplete(claim.key, claim.marker, JSON.stringify(answer), ttlSeconds)) === 1;
    },
    async release(claim) {
      await client.idemRelease(claim.key, claim.marker);
    },
  };
}
