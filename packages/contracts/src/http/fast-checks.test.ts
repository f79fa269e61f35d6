import fc from 'fast-check';
import type Joi from 'joi';
import { fastCheckOf } from './fast-checks';
import { holdBatchRequest, MAX_HOLD_BATCH } from './internal';
import { holdBody, refreshBody, releaseBody, reserveBody } from './schemas';

/** Values a field could be set to: right and wrong types, edges, junk. */
const edgeValues: unknown[] = [
  undefined,
  null,
  true,
  0,
  -0,
  9,
  10,
  10.5,
  60,
  3600,
  3601,
  2 ** 53,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  '60',
  '7',
  '07',
  '123e4567-e89b-12d3-a456-426614174000',
  '123E4567-E89B-12D3-A456-426614174000',
  '{123e4567-e89b-12d3-a456-426614174000}',
  '123e4567e89b12d3a456426614174000',
  ' 123e4567-e89b-12d3-a456-426614174000',
  [],
  {},
];
const anyValue = fc.oneof(fc.constantFrom(...edgeValues), fc.string(), fc.integer(), fc.double());

/**
 * The fast check never accepts a value Joi refuses or would change; every edit of `valid` is tried. `wrap`
 * places the edited object where the schema expects it (an item of a list, say).
 */
function expectSubsetOfJoi(
  schema: Joi.Schema,
  valid: Record<string, unknown>,
  keys: readonly string[],
  wrap: (edited: unknown) => unknown = (edited) => edited,
) {
  const check = fastCheckOf(schema)!;
  const accepts = (value: unknown) => check(wrap(value));
  const joiTakesAsIs = (unwrapped: unknown) => {
    const value = wrap(unwrapped);
    const { error, value: result } = schema.validate(value);
    return error === undefined && JSON.stringify(result) === JSON.stringify(value);
  };
  expect(accepts(valid)).toBe(true);
  expect(joiTakesAsIs(valid)).toBe(true);
  for (const key of [...keys, 'extra', '__proto__']) {
    for (const value of [...edgeValues, 'remove']) {
      const edited: Record<string, unknown> = JSON.parse(JSON.stringify(valid));
      if (value === 'remove') delete edited[key];
      else Object.defineProperty(edited, key, { value, enumerable: true, writable: true, configurable: true });
      if (accepts(edited)) expect({ key, value, joi: joiTakesAsIs(edited) }).toEqual({ key, value, joi: true });
    }
  }
  fc.assert(
    fc.property(
      fc.array(fc.record({ key: fc.constantFrom(...keys, 'extra'), value: anyValue, drop: fc.boolean() }), {
        minLength: 1,
        maxLength: 3,
      }),
      (edits) => {
        const edited: Record<string, unknown> = { ...valid };
        for (const { key, value, drop } of edits) {
          if (drop) delete edited[key];
          else edited[key] = value;
        }
        if (accepts(edited)) expect(joiTakesAsIs(edited)).toBe(true);
      },
    ),
    { numRuns: 2000 },
  );
  for (const notAnObject of [null, [], 'x', 1, undefined]) expect(accepts(notAnObject)).toBe(false);
}

const userId = '123e4567-e89b-12d3-a456-426614174000';

describe('the hot-path body checks accept nothing their Joi schema refuses or changes', () => {
  it('hold and refresh bodies', () => {
    for (const schema of [holdBody, refreshBody]) {
      expectSubsetOfJoi(schema, { userId, holdDuration: 60 }, ['userId', 'holdDuration']);
      expect(fastCheckOf(schema)!({})).toBe(true);
      expect(fastCheckOf(schema)!({ holdDuration: 3600 })).toBe(true);
    }
  });

  it('reserve and release bodies', () => {
    for (const schema of [reserveBody, releaseBody]) {
      expectSubsetOfJoi(schema, { userId }, ['userId']);
      expect(fastCheckOf(schema)!({})).toBe(true);
    }
  });

  it('hold batches, item by item, with each field at and past its length limit', () => {
    const item = {
      requestId: 'r-1',
      authorization: 'Bearer x',
      contentType: 'application/json',
      eventId: 'e',
      seatNumber: '1',
      body: '{}',
    };
    const keys = Object.keys(item);
    expectSubsetOfJoi(holdBatchRequest, item, keys, (edited) => ({ items: [edited] }));
    const accepts = fastCheckOf(holdBatchRequest)!;
    const joiAccepts = (value: unknown) => holdBatchRequest.validate(value).error === undefined;
    const lengths = { requestId: 100, authorization: 16 * 1024, contentType: 1024, eventId: 2048, seatNumber: 2048 };
    for (const [key, max] of Object.entries(lengths)) {
      for (const length of [max, max + 1]) {
        const value = { items: [{ ...item, [key]: 'a'.repeat(length) }] };
        expect({ key, length, fast: accepts(value) }).toEqual({ key, length, fast: joiAccepts(value) });
      }
    }
    for (const items of [[], Array(MAX_HOLD_BATCH).fill(item), Array(MAX_HOLD_BATCH + 1).fill(item), 'x', null]) {
      expect(accepts({ items })).toBe(joiAccepts({ items }));
    }
    expect(accepts({ items: [item], extra: 1 })).toBe(false);
    expect(accepts({})).toBe(false);
  });
});
