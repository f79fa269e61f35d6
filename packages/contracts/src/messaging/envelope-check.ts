import { BatchRoutingKeys, SEAT_ROUTING_KEYS } from './names';
import { UUID_PATTERN } from '../http/schemas';
import { isPlainRecord as isRecord } from '../http/fast-checks';
import type { SeatEnvelope } from './envelope';

/**
 * Hand-written checks for the hot path: every hold, release and expiry is a seat.* envelope validated by
 * three consumers, and Joi's generic walk costs more than the effect of some of them. They accept only
 * what `envelopeSchema` and `seatChangeBatchSchema` accept (a subset: canonical timestamps, seat envelopes,
 * batch frames); anything they do not accept goes to Joi, which decides and explains.
 */

const SEAT_TYPES: ReadonlySet<string> = new Set(SEAT_ROUTING_KEYS);
const SEAT_STATUSES: ReadonlySet<unknown> = new Set(['available', 'held', 'reserved']);
/** The form `Date.prototype.toISOString()` writes, which is what every producer sends. */
const CANONICAL_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ENVELOPE_KEYS = 6;

const isText = (v: unknown, max: number): v is string => typeof v === 'string' && v.length >= 1 && v.length <= max;
const isUuid = (v: unknown) => typeof v === 'string' && UUID_PATTERN.test(v);
const isCount = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
const digits = (v: string, from: number, to: number) => {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + v.charCodeAt(i) - 48;
  return n;
};
const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * A timestamp as `toISOString()` writes it: the canonical form, naming a real instant (what a round trip
 * through Date checks, by arithmetic: three timestamps per change, three consumers).
 */
export function isCanonicalTimestamp(v: unknown): boolean {
  if (typeof v !== 'string' || !CANONICAL_TIMESTAMP.test(v)) return false;
  const year = digits(v, 0, 4);
  const month = digits(v, 5, 7);
  const day = digits(v, 8, 10);
  if (month < 1 || month > 12 || day < 1) return false;
  const monthDays = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  return day <= monthDays && digits(v, 11, 13) < 24 && digits(v, 14, 16) < 60 && digits(v, 17, 19) < 60;
}

const SEAT_FIELDS: Record<string, { required: boolean; valid: (v: unknown) => boolean }> = {
  eventId: { required: true, valid: isUuid },
  seatNumber: { required: true, valid: (v) => isCount(v, 1) },
  status: { required: true, valid: (v) => SEAT_STATUSES.has(v) },
  userId: { required: true, valid: isUuid },
  version: { required: true, valid: (v) => isCount(v, 0) },
  holdVersion: { required: true, valid: (v) => isCount(v, 0) },
  heldAt: { required: false, valid: isCanonicalTimestamp },
  expiresAt: { required: false, valid: isCanonicalTimestamp },
  reservedAt: { required: false, valid: isCanonicalTimestamp },
};
const REQUIRED_SEAT_FIELDS = Object.values(SEAT_FIELDS).filter((f) => f.required).length;

function isSeatData(data: unknown): boolean {
  if (!isRecord(data)) return false;
  let required = 0;
  for (const key in data) {
    const field = Object.hasOwn(SEAT_FIELDS, key) ? SEAT_FIELDS[key] : undefined;
    if (!field || !field.valid(data[key])) return false;
    if (field.required) required++;
  }
  return required === REQUIRED_SEAT_FIELDS;
}

/** True only for a seat.* envelope of `version` that `envelopeSchema` accepts as it is; false means "ask Joi". */
export function isValidSeatEnvelope(body: unknown, version: number): body is SeatEnvelope {
  return (
    isRecord(body) &&
    Object.keys(body).length === ENVELOPE_KEYS &&
    isText(body.id, 100) &&
    typeof body.type === 'string' &&
    SEAT_TYPES.has(body.type) &&
    body.version === version &&
    isCanonicalTimestamp(body.occurredAt) &&
    isText(body.producer, 100) &&
    isSeatData(body.data)
  );
}

/**
 * True only for a seat-changes batch whose own fields (not its changes, each checked as the seat envelope
 * it is) `seatChangeBatchSchema` accepts as they are; false means "ask Joi". Joi walked every change of the
 * array as a generic object first, which cost each of the three consumers more than the batch's effect.
 */
export function isValidSeatChangeBatchFrame(body: unknown, version: number, maxChanges: number): boolean {
  if (
    !isRecord(body) ||
    Object.keys(body).length !== ENVELOPE_KEYS ||
    !isText(body.id, 100) ||
    body.type !== BatchRoutingKeys.SeatChanges ||
    body.version !== version ||
    !isCanonicalTimestamp(body.occurredAt) ||
    !isText(body.producer, 100)
  )
    return false;
  const data = body.data;
  if (!isRecord(data) || Object.keys(data).length !== 1) return false;
  const changes = data.changes;
  if (!Array.isArray(changes) || changes.length < 1 || changes.length > maxChanges) return false;
  return changes.every(isRecord);
}
