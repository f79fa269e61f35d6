import fc from 'fast-check';
import { fastCheckOf } from '@zephyr/contracts';
import { seatParams } from './seat-router';

const joiTakesAsIs = (value: unknown) => {
  const { error, value: result } = seatParams.validate(value);
  return error === undefined && JSON.stringify(result) === JSON.stringify(value);
};
const accepts = fastCheckOf(seatParams)!;
const eventId = '123e4567-e89b-12d3-a456-426614174000';

it("the seat path's hand-written check accepts nothing Joi refuses or changes", () => {
  expect(accepts({ eventId, seatNumber: '7' })).toBe(true);
  expect(accepts({ eventId: eventId.toUpperCase(), seatNumber: '1000' })).toBe(true);
  for (const seatNumber of ['0', '07', '-1', '1e3', '7 ', '', '1.0', 7]) {
    expect(accepts({ eventId, seatNumber })).toBe(false);
  }
  expect(accepts({ eventId })).toBe(false);
  expect(accepts({ eventId, seatNumber: '7', extra: 'x' })).toBe(false);
  fc.assert(
    fc.property(
      fc.record({
        eventId: fc.oneof(fc.constant(eventId), fc.uuid(), fc.string()),
        seatNumber: fc.oneof(fc.nat().map(String), fc.string(), fc.constantFrom('0', '01', '99999999999')),
      }),
      (params) => {
        if (accepts(params)) expect(joiTakesAsIs(params)).toBe(true);
      },
    ),
    { numRuns: 3000 },
  );
});
