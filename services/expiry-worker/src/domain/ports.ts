import type { ExpiryClaim, ExpirySettlement } from '@zephyr/contracts';
import type { ExpireResult, HoldRef } from './settlement';

/** The expiry schedule (kept by the seat-service): atomic claims with a lease, then a settlement. */
export interface ExpiryIndex {
  claimDue(limit: number, leaseMs: number): Promise<ExpiryClaim>;
  settle(settlement: ExpirySettlement): Promise<void>;
}

/** The seat rules' expiry, fenced by holdVersion: one verdict per hold. */
export interface HoldExpirer {
  expire(holds: readonly HoldRef[]): Promise<ExpireResult[]>;
}
