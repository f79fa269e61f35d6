import fc from 'fast-check';
import { ENVELOPE_VERSION, envelopeSchema, parseEnvelope } from './envelope';
import { isValidSeatEnvelope } from './envelope-check';
import { RoutingKeys, SEAT_ROUTING_KEYS } from './names';

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
