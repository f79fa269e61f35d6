/**
 * Deliveries are at least once (docs/interfaces.md), so every consumer drops a repeat by envelope id. This
 * is the bounded window it remembers: a ring of the last `limit` ids beside a Set for lookups, so the oldest
 * id leaves in O(1) however long the process runs (a Set evicted from its front slows down as it churns).
 */
export interface RecentIds {
  has(id: string): boolean;
  add(id: string): void;
}

export function createRecentIds(limit: number): RecentIds {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const seen = new Set<string>();
  const ring: (string | undefined)[] = new Array<string | undefined>(limit);
  let next = 0;
  return {
    has: (id) => seen.has(id),
    add(id) {
      if (seen.has(id)) return;
      const oldest = ring[next];
      if (oldest !== undefined) seen.delete(oldest);
      ring[next] = id;
      next = (next + 1) % limit;
      seen.add(id);
    },
  };
}
