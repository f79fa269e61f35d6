import fc from 'fast-check';
import {
  ENVELOPE_VERSION,
  MAX_SEAT_CHANGE_BATCH,
  envelopeSchema,
  parseEnvelope,
  seatChangeBatchSchema,
} from './envelope';
import { isCanonicalTimestamp, isValidSeatChangeBatchFrame, isValidSeatEnvelope } from './envelope-check';
import { BatchRoutingKeys, RoutingKeys, SEAT_ROUTING_KEYS } from './names';

const joiAccepts = (value: unknown) => envelopeSchema.validate(value).error === undefined;

const seatEnvelope = () => ({
  id: 'stream-1-0',
  type: RoutingKeys.SeatHeld,
  version: ENVELOPE_VERSION,
  occurredAt: '2026-01-01T00:00:00.000Z',
  producer: 'seat-service',
  data: {
    eventId: '123e4567-e89b-12d3-a456-426614174000',
    seatNumber: 7,
    status: 'held',
    userId: '223e4567-e89b-12d3-a456-426614174000',
    version: 3,
    holdVersion: 2,
    heldAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T00:01:00.000Z',
  },
});

/** Values a field could be replaced with: right and wrong types, edges, junk. */
const edgeValues = [
  undefined,
  null,
  0,
  -1,
  1,
  1.5,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  '1',
  'held',
  'reserved',
  'gone',
  '2026-01-01T00:00:00Z',
  '2026-02-30T00:00:00.000Z',
  '2026-01-01T00:00:00.000+00:00',
  '{123e4567-e89b-12d3-a456-426614174000}',
  '123E4567-E89B-12D3-A456-426614174000',
  'x'.repeat(101),
  [],
  {},
  ...SEAT_ROUTING_KEYS,
  RoutingKeys.EventCreated,
];
const anyValue = fc.oneof(
  fc.constantFrom(...edgeValues),
  fc.string(),
  fc.integer(),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

const envelopeKeys = ['id', 'type', 'version', 'occurredAt', 'producer', 'data', 'extra'] as const;
const dataKeys = [
  'eventId',
  'seatNumber',
  'status',
  'userId',
  'version',
  'holdVersion',
  'heldAt',
  'expiresAt',
  'reservedAt',
  'extra',
] as const;

describe('the hot-path seat envelope check', () => {
  it('takes the envelopes producers send, for every seat routing key', () => {
    for (const type of SEAT_ROUTING_KEYS) {
      const envelope = { ...seatEnvelope(), type };
      expect(isValidSeatEnvelope(envelope, ENVELOPE_VERSION)).toBe(true);
      expect(parseEnvelope(envelope)).toBe(envelope);
    }
  });

  it('never accepts what the Joi schema refuses (each field set to each edge value, or removed)', () => {
    const cases = [
      ...envelopeKeys.map((key) => ({ key, inData: false })),
      ...dataKeys.map((key) => ({ key, inData: true })),
    ];
    for (const { key, inData } of cases) {
      for (const value of [...edgeValues, 'remove']) {
        const envelope: Record<string, unknown> = seatEnvelope();
        const target = (inData ? envelope.data : envelope) as Record<string, unknown>;
        if (value === 'remove') delete target[key];
        else target[key] = value;
        if (isValidSeatEnvelope(envelope, ENVELOPE_VERSION))
          expect({ key, value, joi: joiAccepts(envelope) }).toEqual({ key, value, joi: true });
      }
    }
  });

  it('never accepts what the Joi schema refuses (random edits of a valid envelope)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ inData: fc.boolean(), key: fc.integer({ min: 0, max: 9 }), value: anyValue, drop: fc.boolean() }),
          { minLength: 1, maxLength: 3 },
        ),
        (edits) => {
          const envelope: Record<string, unknown> = seatEnvelope();
          for (const { inData, key, value, drop } of edits) {
            const target =
              inData && typeof envelope.data === 'object' && envelope.data !== null ? envelope.data : envelope;
            const name = inData ? dataKeys[key] : envelopeKeys[key % envelopeKeys.length];
            if (drop) delete (target as Record<string, unknown>)[name!];
            else (target as Record<string, unknown>)[name!] = value;
          }
          if (isValidSeatEnvelope(envelope, ENVELOPE_VERSION)) expect(joiAccepts(envelope)).toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('leaves event envelopes and odd but valid forms to Joi', () => {
    const offset = { ...seatEnvelope(), occurredAt: '2026-01-01T00:00:00Z' };
    expect(joiAccepts(offset)).toBe(true);
    expect(isValidSeatEnvelope(offset, ENVELOPE_VERSION)).toBe(false);
    expect(parseEnvelope(offset).type).toBe(RoutingKeys.SeatHeld);
  });
});

describe('the hot-path batch frame check', () => {
  const batchAccepts = (value: unknown) => seatChangeBatchSchema.validate(value).error === undefined;
  const fastAccepts = (value: unknown) => isValidSeatChangeBatchFrame(value, ENVELOPE_VERSION, MAX_SEAT_CHANGE_BATCH);
  const batch = (): Record<string, unknown> => ({
    id: 'turn-1',
    type: BatchRoutingKeys.SeatChanges,
    version: ENVELOPE_VERSION,
    occurredAt: '2026-01-01T00:00:00.000Z',
    producer: 'seat-service',
    data: { changes: [seatEnvelope(), { ...seatEnvelope(), id: 'stream-1-1' }] },
  });
  const frameKeys = ['id', 'type', 'version', 'occurredAt', 'producer', 'data', 'extra'] as const;
  const changeLists = [
    [],
    [null],
    [[]],
    ['held'],
    [seatEnvelope(), 1],
    Array.from({ length: MAX_SEAT_CHANGE_BATCH }, () => seatEnvelope()),
    Array.from({ length: MAX_SEAT_CHANGE_BATCH + 1 }, () => seatEnvelope()),
  ];

  it('takes the batches the relays send, and parseEnvelope returns them as they are', () => {
    const sent = batch();
    expect(fastAccepts(sent)).toBe(true);
    expect(parseEnvelope(sent)).toBe(sent);
  });

  it('never accepts a frame the Joi schema refuses (each field set to each edge value, or removed)', () => {
    for (const key of frameKeys) {
      for (const value of [...edgeValues, { changes: [seatEnvelope()] }, 'remove']) {
        const frame = batch();
        if (value === 'remove') delete frame[key];
        else frame[key] = value;
        if (fastAccepts(frame)) expect({ key, value, joi: batchAccepts(frame) }).toEqual({ key, value, joi: true });
      }
    }
    for (const changes of changeLists) {
      const frame = { ...batch(), data: { changes } };
      expect(fastAccepts(frame)).toBe(batchAccepts(frame));
    }
    const extraDataKey = { ...batch(), data: { changes: [seatEnvelope()], more: 1 } };
    expect([fastAccepts(extraDataKey), batchAccepts(extraDataKey)]).toEqual([false, false]);
  });

  it('never accepts a frame the Joi schema refuses (random edits of a valid batch)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: frameKeys.length - 1 }),
            value: fc.oneof(
              anyValue,
              fc.constantFrom(...changeLists).map((changes) => ({ changes })),
            ),
            drop: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3 },
        ),
        (edits) => {
          const frame = batch();
          for (const { key, value, drop } of edits) {
            if (drop) delete frame[frameKeys[key]!];
            else frame[frameKeys[key]!] = value;
          }
          if (fastAccepts(frame)) expect(batchAccepts(frame)).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a batch whose frame it leaves to Joi is still judged, and a bad change in it is refused', () => {
    const offset = { ...batch(), occurredAt: '2026-01-01T00:00:00Z' };
    expect(fastAccepts(offset)).toBe(false);
    expect(parseEnvelope(offset).type).toBe(BatchRoutingKeys.SeatChanges);
    const badChange = { ...batch(), data: { changes: [{ ...seatEnvelope(), version: 99 }] } };
    expect(fastAccepts(badChange)).toBe(true);
    expect(() => parseEnvelope(badChange)).toThrow();
  });
});

describe('isCanonicalTimestamp', () => {
  /** The definition it stands for: toISOString's form, and Date reads it back to the same text. */
  const roundTrips = (v: string) => {
    const time = Date.parse(v);
    return (
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v) &&
      !Number.isNaN(time) &&
      new Date(time).toISOString() === v
    );
  };

  it.each([
    ['2026-01-01T00:00:00.000Z', true],
    ['2024-02-29T23:59:59.999Z', true],
    ['2000-02-29T12:00:00.000Z', true],
    ['0000-01-01T00:00:00.000Z', true],
    ['9999-12-31T23:59:59.999Z', true],
    ['2023-02-29T00:00:00.000Z', false],
    ['1900-02-29T00:00:00.000Z', false],
    ['2026-04-31T00:00:00.000Z', false],
    ['2026-00-10T00:00:00.000Z', false],
    ['2026-13-10T00:00:00.000Z', false],
    ['2026-01-00T00:00:00.000Z', false],
    ['2026-01-01T24:00:00.000Z', false],
    ['2026-01-01T00:60:00.000Z', false],
    ['2026-01-01T00:00:60.000Z', false],
    ['2026-01-01T00:00:00Z', false],
    ['2026-01-01T00:00:00.000+00:00', false],
  ])('%s: %s, as a round trip through Date says', (text, expected) => {
    expect(roundTrips(text)).toBe(expected);
    expect(isCanonicalTimestamp(text)).toBe(expected);
  });

  it('agrees with the round trip on random field values, in range and out', () => {
    const field = (width: number, max: number) =>
      fc.integer({ min: 0, max }).map((n) => String(n).padStart(width, '0'));
    fc.assert(
      fc.property(
        field(4, 9999),
        field(2, 13),
        field(2, 32),
        field(2, 25),
        field(2, 61),
        field(2, 61),
        field(3, 999),
        (y, mo, d, h, mi, s, ms) => {
          const text = `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`;
          expect(isCanonicalTimestamp(text)).toBe(roundTrips(text));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
