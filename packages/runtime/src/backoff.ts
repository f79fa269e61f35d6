export interface BackoffPolicy {
  /** The delay of the first attempt (attempt 0). */
  firstMs: number;
  /** The cap the doubling stops at. */
  maxMs: number;
  /** Equal jitter: a random delay between half the doubled one and all of it, so replicas do not retry in step. */
  jitter?: boolean;
}

/** The delay before retry `attempt` (0-based): `firstMs` doubling per attempt up to `maxMs`. */
export function backoffMs(attempt: number, { firstMs, maxMs, jitter = false }: BackoffPolicy): number {
  // The exponent is capped only so that 2 ** n stays finite; any cap past the doubling to maxMs is the same.
  const ceiling = Math.min(maxMs, firstMs * 2 ** Math.min(attempt, 30));
  return jitter ? ceiling / 2 + Math.random() * (ceiling / 2) : ceiling;
}
