import {
  LIMITS,
  SEAT_NUMBER_PATTERN,
  UUID_PATTERN,
  bestAvailableBody,
  multiHoldBody,
  multiReserveBody,
  uuidSchema,
} from './schemas';
import { envelopeSchema, parseEnvelope, InvalidEnvelopeError, ENVELOPE_VERSION } from '../messaging/envelope';
import { RoutingKeys } from '../messaging/names';
import { ErrorCodes, HTTP_STATUS_BY_CODE, errorBody, type ErrorCode } from './errors';

/** An envelope around `data` with fixed metadata, for the schema checks below. */
const envelopeOf = (type: string, data: Record<string, unknown>) => ({
  id: 'm-1',
  type,
  version: ENVELOPE_VERSION,
  occurredAt: '2026-01-01T00:00:00.000Z',
  producer: 'test',
  data,
});

const ok = (schema: { validate(v: unknown): { error?: unknown } }, value: unknown) =>
  schema.validate(value).error === undefined;

describe('the one UUID rule', () => {
  it.each([
    ['123e4567-e89b-12d3-a456-426614174000', true],
    ['123E4567-E89B-12D3-A456-426614174000', true],
    ['00000000-0000-0000-0000-000000000000', true],
    // Joi.guid() would take the braced and separator forms; PostgreSQL and the contract do not.
    ['{123e4567-e89b-12d3-a456-426614174000}', false],
    ['123e4567e89b12d3a456426614174000', false],
    ['123e4567:e89b:12d3:a456:426614174000', false],
    ['123e4567-e89b-12d3-a456-42661417400', false],
    ['123e4567-e89b-12d3-a456-4266141740000', false],
    ['g23e4567-e89b-12d3-a456-426614174000', false],
    [' 123e4567-e89b-12d3-a456-426614174000', false],
    ['', false],
  ] as const)('%j is a UUID: %s', (value, valid) => {
    expect(UUID_PATTERN.test(value)).toBe(valid);
    expect(ok(uuidSchema, value)).toBe(valid);
  });

  it('is the rule envelopes use too: a braced id makes a message poison', () => {
    const envelope = (eventId: string) =>
      envelopeOf(RoutingKeys.SeatHeld, {
        eventId,
        seatNumber: 1,
        status: 'held',
        userId: '123e4567-e89b-12d3-a456-426614174000',
        version: 1,
        holdVersion: 1,
      });
    expect(parseEnvelope(envelope('123e4567-e89b-12d3-a456-426614174000')).type).toBe(RoutingKeys.SeatHeld);
    expect(() => parseEnvelope(envelope('{123e4567-e89b-12d3-a456-426614174000}'))).toThrow(InvalidEnvelopeError);
  });

  it('bounds envelope event text by the same LIMITS as the HTTP bodies', () => {
    const event = (name: string) =>
      envelopeOf(RoutingKeys.EventCreated, {
        id: '123e4567-e89b-12d3-a456-426614174000',
        name,
        description: '',
        totalSeats: 10,
        maxSeatsPerUser: 10,
        status: 'active',
        revision: 1,
        createdAt: '2026-01-01T00:00:00.000Z',
        updatedAt: '2026-01-01T00:00:00.000Z',
      });
    expect(ok(envelopeSchema, event('x'.repeat(LIMITS.nameMax)))).toBe(true);
    expect(ok(envelopeSchema, event('x'.repeat(LIMITS.nameMax + 1)))).toBe(false);
  });
});

describe('seat numbers in paths', () => {
  it.each(['1', '9', '10', '999', '1'.repeat(100)])('accepts %s', (value) => {
    expect(SEAT_NUMBER_PATTERN.test(value)).toBe(true);
  });
  it.each(['0', '01', '-1', '+1', '1e3', '1.0', ' 1', '0x1', '', '1'.repeat(101)])('refuses %j', (value) => {
    expect(SEAT_NUMBER_PATTERN.test(value)).toBe(false);
  });
});

describe('multi-seat bodies (SPEC §7)', () => {
  it('takes a non-empty list of distinct positive seat numbers, with an optional hold duration', () => {
    expect(ok(multiHoldBody, { seats: [1, 2, 3] })).toBe(true);
    expect(ok(multiHoldBody, { seats: [5], holdDuration: LIMITS.holdDurationMin })).toBe(true);
    expect(ok(multiReserveBody, { seats: [LIMITS.totalSeatsMax] })).toBe(true);
  });

  it.each([
    ['no body', undefined],
    ['no seats', {}],
    ['an empty list', { seats: [] }],
    ['a duplicate', { seats: [1, 1] }],
    ['seat 0', { seats: [0] }],
    ['a fraction', { seats: [1.5] }],
    ['a numeric string', { seats: ['1'] }],
    ['a seat above the largest event', { seats: [LIMITS.totalSeatsMax + 1] }],
    ['an unknown field', { seats: [1], userId: '123e4567-e89b-12d3-a456-426614174000' }],
  ])('refuses %s', (_label, body) => {
    expect(ok(multiHoldBody, body)).toBe(false);
    expect(ok(multiReserveBody, body)).toBe(false);
  });

  it('bounds a multi-hold duration like a single hold', () => {
    expect(ok(multiHoldBody, { seats: [1], holdDuration: LIMITS.holdDurationMax + 1 })).toBe(false);
    expect(ok(multiHoldBody, { seats: [1], holdDuration: LIMITS.holdDurationMin - 1 })).toBe(false);
    expect(ok(multiReserveBody, { seats: [1], holdDuration: 60 })).toBe(false);
  });

  it('best-available takes a count, an optional duration and adjacency flag', () => {
    expect(ok(bestAvailableBody, { count: 2 })).toBe(true);
    expect(ok(bestAvailableBody, { count: 2, adjacent: true, holdDuration: 60 })).toBe(true);
    expect(ok(bestAvailableBody, { count: 0 })).toBe(false);
    expect(ok(bestAvailableBody, { count: '2' })).toBe(false);
    expect(ok(bestAvailableBody, { count: 2, adjacent: 'yes' })).toBe(false);
    expect(ok(bestAvailableBody, {})).toBe(false);
  });
});

describe('error table', () => {
  // SPEC.md's error table by status, plus the §7 idempotency codes and the catch-all 500.
  const SPEC_CODES_BY_STATUS: Record<number, string[]> = {
    400: ['VALIDATION_FAILED'],
    401: ['UNAUTHENTICATED'],
    403: ['FORBIDDEN'],
    // The gateway's answers to requests Node's parser refused (beyond SPEC's table, like the idempotency codes).
    408: ['REQUEST_TIMEOUT'],
    404: ['EVENT_NOT_FOUND', 'SEAT_NOT_FOUND', 'NOT_FOUND'],
    409: ['SEAT_UNAVAILABLE', 'HOLD_NOT_FOUND', 'USER_LIMIT_REACHED', 'EVENT_NOT_ACTIVE', 'IDEMPOTENCY_IN_FLIGHT'],
    413: ['PAYLOAD_TOO_LARGE'],
    415: ['UNSUPPORTED_MEDIA_TYPE'],
    422: ['IDEMPOTENCY_KEY_REUSED'],
    431: ['HEADERS_TOO_LARGE'],
    429: ['RATE_LIMITED'],
    500: ['INTERNAL_ERROR'],
    503: ['DEPENDENCY_UNAVAILABLE'],
  };

  it('gives every code exactly one status, and the status SPEC.md gives it', () => {
    expect(Object.keys(HTTP_STATUS_BY_CODE).sort()).toEqual(Object.values(ErrorCodes).sort());
    for (const [status, codes] of Object.entries(SPEC_CODES_BY_STATUS))
      for (const code of codes) expect([code, HTTP_STATUS_BY_CODE[code as ErrorCode]]).toEqual([code, Number(status)]);
    expect(Object.values(SPEC_CODES_BY_STATUS).flat().sort()).toEqual(Object.values(ErrorCodes).sort());
  });

  it('leaves details out of the body when there are none', () => {
    expect(errorBody(ErrorCodes.NotFound, 'No such route')).toEqual({
      error: { code: 'NOT_FOUND', message: 'No such route' },
    });
    expect(errorBody(ErrorCodes.ValidationFailed, 'bad', [])).toEqual({
      error: { code: 'VALIDATION_FAILED', message: 'bad' },
    });
    expect(errorBody(ErrorCodes.ValidationFailed, 'bad', [{ path: 'x' }]).error.details).toEqual([{ path: 'x' }]);
  });
});
